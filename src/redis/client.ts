/**
 * The Redis connection used by rkvdns. Fails fast while Redis is away (no offline queue, one retry,
 * a command timeout) so DNS clients get SERVFAIL in about a second instead of a hang, and reconnects
 * on its own when Redis returns. No ready check: it would send INFO, which a read-only ACL user
 * (`-@dangerous`) may not run.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../common/log.js';

export function connectRedis(url: string, timeoutMs: number, log: Logger): Redis {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`REDIS_SERVER '${url}' is not a URL; use redis://host:port[/db]`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`REDIS_SERVER '${url}' must start with redis:// or rediss://`);
  }
  const redis = new Redis(url, {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    maxRetriesPerRequest: 1,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 1000),
    retryStrategy: (times) => Math.min(50 * times, 1000),
    lazyConnect: true,
  });
  let down = false;
  redis.on('error', (e: Error) => {
    if (!down) log.warn(`redis ${parsed.host}: ${e.message}`);
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info(`redis ${parsed.host}: connected again`);
    down = false;
  });
  return redis;
}
