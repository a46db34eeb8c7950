/**
 * Runs a plan against Redis with read-only commands only (GET, HGET, HKEYS, HLEN, LINDEX, LLEN, LRANGE,
 * SCARD, SMEMBERS, SCAN, MGET, TYPE, TTL) and returns what happened as a value. Patterns are enumerated
 * with SCAN, never KEYS, so a large keyspace does not block Redis, and are capped at MAX_KEYS. A
 * partitioned listing takes its keys from a snapshot shared by the pages of one walk.
 */
import type { RedisPlan } from '../query/operators.js';
import type { Partition } from '../query/partition.js';
import type { KeySnapshots } from './snapshots.js';
import { TooManyKeysError, type Commands, type Store } from './store.js';

export type Reply =
  /** Records, each a list of character-strings; `ttl` is the key's TTL or null where none applies. */
  | { kind: 'values'; records: Buffer[][]; ttl: number | null }
  | { kind: 'nil' }
  | { kind: 'error'; error: 'redis' | 'toomany'; message: string };

const one = (v: Buffer): Buffer[][] => [[v]];
const int = (n: number): Buffer[][] => [[Buffer.from(String(n))]];
const each = (vs: Buffer[]): Buffer[][] => vs.map((v) => [v]);

async function withTtl(redis: Commands, key: Buffer, value: Promise<Buffer[][] | null>): Promise<Reply> {
  const [records, ttl] = await Promise.all([value, redis.ttl(key)]);
  if (records === null) return { kind: 'nil' };
  return { kind: 'values', records, ttl: ttl >= 0 ? ttl : null };
}

async function shget(store: Store, keys: Buffer[], match: (k: Buffer) => Buffer[] | null): Promise<Reply> {
  const groups = new Map<string, { captures: Buffer[]; keys: Buffer[] }>();
  for (const k of keys) {
    const captures = match(k);
    if (!captures) continue;
    const id = captures.map((c) => c.toString('latin1')).join('\0');
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { captures, keys: [] }));
    g.keys.push(k);
  }
  const all = [...groups.values()].flatMap((g) => g.keys);
  const values = await store.mget(all);
  // MGET answers nil for a key of another type; tell that apart from a key that expired meanwhile.
  const nilKeys = all.filter((_, i) => values[i] === null);
  if (nilKeys.length > 0) {
    const types = await Promise.all(nilKeys.map((k) => store.commands.type(k)));
    const wrong = types.findIndex((t) => t !== 'none' && t !== 'string');
    if (wrong >= 0) return { kind: 'error', error: 'redis', message: `WRONGTYPE key ${nilKeys[wrong]!.toString('latin1')} holds a ${types[wrong]}` };
  }
  const records: Buffer[][] = [];
  let i = 0;
  for (const g of groups.values()) {
    const vals: Buffer[] = [];
    for (let j = 0; j < g.keys.length; j++, i++) if (values[i] !== null) vals.push(values[i]!);
    if (vals.length > 0) records.push([...g.captures, ...vals]);
  }
  return { kind: 'values', records, ttl: null };
}

/** Where listings get their keys: a fresh SCAN, or for one partition, the pattern's snapshot. */
export interface KeySource {
  store: Store;
  snapshots: KeySnapshots;
  maxKeys: number;
}

function listKeys(src: KeySource, glob: Buffer, part: Partition | undefined): Promise<Buffer[]> {
  return part ? src.snapshots.partition(src.store, glob, src.maxKeys, part) : src.store.scan(glob, src.maxKeys);
}

async function run(src: KeySource, plan: RedisPlan): Promise<Reply> {
  const redis = src.store.commands;
  switch (plan.op) {
    case 'get':
      return withTtl(redis, plan.key, redis.getBuffer(plan.key).then((v) => (v === null ? null : one(v))));
    case 'hget':
      return withTtl(redis, plan.key, redis.hgetBuffer(plan.key, plan.field).then((v) => (v === null ? null : one(v))));
    case 'lindex':
      return withTtl(redis, plan.key, redis.lindexBuffer(plan.key, plan.index).then((v) => (v === null ? null : one(v))));
    case 'hkeys':
      return withTtl(redis, plan.key, redis.hkeysBuffer(plan.key).then(each));
    case 'smembers':
      return withTtl(redis, plan.key, redis.smembersBuffer(plan.key).then(each));
    case 'lrange':
      return withTtl(redis, plan.key, redis.lrangeBuffer(plan.key, plan.start, plan.stop).then(each));
    case 'hlen':
      return withTtl(redis, plan.key, redis.hlen(plan.key).then(int));
    case 'llen':
      return withTtl(redis, plan.key, redis.llen(plan.key).then(int));
    case 'scard':
      return withTtl(redis, plan.key, redis.scard(plan.key).then(int));
    case 'keys':
      return { kind: 'values', records: each(await listKeys(src, plan.glob, plan.part)), ttl: null };
    case 'klen':
    case 'kplen':
      return { kind: 'values', records: int((await listKeys(src, plan.glob, plan.part)).length), ttl: null };
    case 'shards': {
      const seen = new Set<string>();
      const records: Buffer[][] = [];
      for (const k of await listKeys(src, plan.pattern.glob, plan.part)) {
        const captures = plan.pattern.match(k);
        if (!captures) continue;
        const id = captures.map((c) => c.toString('latin1')).join('\0');
        if (!seen.has(id)) { seen.add(id); records.push(captures); }
      }
      return { kind: 'values', records, ttl: null };
    }
    case 'shget':
      return shget(src.store, await listKeys(src, plan.pattern.glob, plan.part), (k) => plan.pattern.match(k));
  }
}

export async function executePlan(src: KeySource, plan: RedisPlan): Promise<Reply> {
  try {
    return await run(src, plan);
  } catch (e) {
    if (e instanceof TooManyKeysError) return { kind: 'error', error: 'toomany', message: e.message };
    return { kind: 'error', error: 'redis', message: (e as Error).message };
  }
}
