/** KeyReader.withTtl against a real Redis: every single-key read and its key's TTL, on the pipelined connection and on ioredis alone. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { connectRedis, type Connection } from '../../src/redis/connection.js';
import { redisReader, type KeyReader } from '../../src/redis/reader.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

let redis: TestRedis;
const conns: Connection[] = [];
const B = (s: string) => Buffer.from(s, 'latin1');

beforeAll(async () => {
  redis = await startRedis();
  await redis.client.set('s', 'value', 'EX', 500);
  await redis.client.hset('h', 'f', 'field value', 'g', '2');
  await redis.client.expire('h', 600);
  await redis.client.rpush('l', 'a', 'b', 'c', 'd');
  await redis.client.expire('l', 700);
  await redis.client.sadd('set', 'x', 'y');
  await redis.client.set('forever', '1');
});

afterAll(async () => {
  for (const c of conns) c.disconnect();
  await redis?.stop();
});

async function reader(pipelinedReads: boolean): Promise<{ r: KeyReader; conn: Connection }> {
  const conn = connectRedis(redis.url, { timeoutMs: 1000, log: createLogger('error', 'test'), pipelinedReads });
  conns.push(conn);
  await conn.connect();
  return { r: redisReader(conn), conn };
}

describe.each([
  ['the pipelined connection', true],
  ['ioredis alone', false],
])('withTtl on %s', (_, pipelinedReads) => {
  it('is on the path asked for', async () => {
    const { conn } = await reader(pipelinedReads);
    expect(conn.reads !== null).toBe(pipelinedReads);
  });

  it('pairs each single-key read with its key’s TTL; arguments after the key (fields, indexes, ranges) go as given', async () => {
    const { r } = await reader(pipelinedReads);
    const near = (ttl: number, set: number) => expect(ttl).toBeGreaterThan(set - 10);
    const [s, sTtl] = await r.withTtl('get', B('s'));
    expect(s).toEqual(B('value'));
    near(sTtl, 500);
    const [f, hTtl] = await r.withTtl('hget', B('h'), B('f'));
    expect(f).toEqual(B('field value'));
    near(hTtl, 600);
    const [third, lTtl] = await r.withTtl('lindex', B('l'), 2);
    expect(third).toEqual(B('c'));
    near(lTtl, 700);
    expect((await r.withTtl('lindex', B('l'), -1))[0]).toEqual(B('d'));
    expect((await r.withTtl('lrange', B('l'), 1, -2))[0]).toEqual([B('b'), B('c')]);
    expect((await r.withTtl('hkeys', B('h')))[0].map(String).sort()).toEqual(['f', 'g']);
    expect((await r.withTtl('smembers', B('set')))[0].map(String).sort()).toEqual(['x', 'y']);
    expect(await r.withTtl('hlen', B('h'))).toEqual([2, expect.any(Number)]);
    expect((await r.withTtl('llen', B('l')))[0]).toBe(4);
    expect(await r.withTtl('scard', B('set'))).toEqual([2, -1]);
    expect(await r.withTtl('get', B('forever'))).toEqual([B('1'), -1]);
    expect(await r.withTtl('hget', B('missing'), B('f'))).toEqual([null, -2]);
  });

  it('a read of the wrong type fails the pair with Redis’s error', async () => {
    const { r } = await reader(pipelinedReads);
    await expect(r.withTtl('lindex', B('h'), 0)).rejects.toThrow(/WRONGTYPE/);
  });
});
