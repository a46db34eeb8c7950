/** A private redis-server on a free loopback port, with no persistence (the shared harness). */
import { startRedis as start, type PrivateRedis } from '../../src/harness/redis.js';

export type TestRedis = PrivateRedis;

export const startRedis = (extra: string[] = []): Promise<TestRedis> => start({ extra });
