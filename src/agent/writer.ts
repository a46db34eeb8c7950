/**
 * Writes a flush to Redis: INCRBY + EXPIRE per key inside MULTI/EXEC, so each transaction is applied whole
 * or not at all. One Redis takes the whole batch in one transaction. A cluster refuses transactions across
 * slots, so there the batch is one transaction per slot, sent in parallel (ioredis pipelines them per
 * node); a slot whose master is down fails alone, and only its keys are held to retry.
 */
import { Cluster, Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { clusterOptions } from '../redis/store.js';
import { parseRedisTarget } from '../redis/target.js';
import type { BatchWriter, Pending, WriteResult } from './aggregator.js';

const TIMEOUT_MS = 5000;

export function connectAgentRedis(url: string): Redis | Cluster {
  const target = parseRedisTarget(url, 'redis');
  if (target.kind === 'cluster') return new Cluster(target.seeds, clusterOptions(target, TIMEOUT_MS));
  return new Redis(target.url, {
    // Fail fast while Redis is away: the aggregator holds the counts and retries on the next flush.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: TIMEOUT_MS,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    lazyConnect: true,
  });
}

/** One transaction; returns the keys Redis refused (e.g. WRONGTYPE). Throws when it was not applied. */
async function transaction(redis: Redis | Cluster, keys: string[], batch: Map<string, Pending>): Promise<string[]> {
  const multi = redis.multi();
  for (const key of keys) {
    const p = batch.get(key)!;
    multi.incrby(key, p.n);
    multi.expire(key, p.ttl);
  }
  const results = await multi.exec();
  if (!results) throw new Error('transaction aborted');
  return keys.filter((_, i) => results[2 * i]![0]);
}

export function redisBatchWriter(redis: Redis | Cluster): BatchWriter {
  if (redis instanceof Redis) return async (batch) => ({ refused: await transaction(redis, [...batch.keys()], batch), unwritten: [] });
  return async (batch) => {
    const bySlot = new Map<number, string[]>();
    for (const key of batch.keys()) {
      const slot = calculateSlot(key);
      const keys = bySlot.get(slot);
      if (keys) keys.push(key);
      else bySlot.set(slot, [key]);
    }
    const groups = [...bySlot.values()];
    const outcomes = await Promise.allSettled(groups.map((keys) => transaction(redis, keys, batch)));
    const result: WriteResult = { refused: [], unwritten: [] };
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') result.refused.push(...o.value);
      else {
        result.unwritten.push(...groups[i]!);
        result.error ??= (o.reason as Error).message;
      }
    });
    if (result.unwritten.length === batch.size) throw new Error(result.error);
    return result;
  };
}
