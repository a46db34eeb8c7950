/** INCRBY + EXPIRE for a batch of keys in one MULTI/EXEC round trip. */
import { Redis } from 'ioredis';
import type { BatchWriter, Pending } from './aggregator.js';

export function connectAgentRedis(url: string): Redis {
  return new Redis(url, {
    // Fail fast while Redis is away: the aggregator holds the counts and retries on the next flush.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 5000,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    lazyConnect: true,
  });
}

export function redisBatchWriter(redis: Redis): BatchWriter {
  return async (batch: Map<string, Pending>) => {
    const multi = redis.multi();
    const keys: string[] = [];
    for (const [key, p] of batch) {
      multi.incrby(key, p.n);
      multi.expire(key, p.ttl);
      keys.push(key);
    }
    const results = await multi.exec();
    if (!results) throw new Error('transaction aborted');
    const refused: string[] = [];
    for (let i = 0; i < keys.length; i++) if (results[2 * i]![0]) refused.push(keys[i]!);
    return refused;
  };
}
