/**
 * Runs a plan against Redis with read-only commands only (GET, HGET, HKEYS, HLEN, LINDEX, LLEN, LRANGE,
 * SCARD, SMEMBERS, SCAN, MGET, TYPE, TTL) and returns what happened as a value. Patterns are enumerated
 * with SCAN, never KEYS, so a large keyspace does not block Redis, and are capped at MAX_KEYS.
 */
import type { Redis } from 'ioredis';
import type { RedisPlan } from '../query/operators.js';

export type Reply =
  /** Records, each a list of character-strings; `ttl` is the key's TTL or null where none applies. */
  | { kind: 'values'; records: Buffer[][]; ttl: number | null }
  | { kind: 'nil' }
  | { kind: 'error'; error: 'redis' | 'toomany'; message: string };

export class TooManyKeysError extends Error {}

const SCAN_COUNT = 1000;
const MGET_CHUNK = 500;

export async function scanAll(redis: Redis, glob: Buffer, maxKeys: number): Promise<Buffer[]> {
  const seen = new Set<string>();
  const keys: Buffer[] = [];
  let cursor = '0';
  do {
    // scanBuffer, not callBuffer: ioredis drops the command name of callBuffer under auto-pipelining.
    // The pattern is sent as a Buffer so binary patterns reach Redis intact.
    const [next, batch] = await redis.scanBuffer(cursor, 'MATCH', glob as unknown as string, 'COUNT', SCAN_COUNT);
    cursor = next.toString();
    for (const k of batch) {
      // SCAN may return a key more than once while the keyspace is rehashing.
      const id = k.toString('latin1');
      if (seen.has(id)) continue;
      seen.add(id);
      keys.push(k);
      if (keys.length > maxKeys) throw new TooManyKeysError(`pattern matches more than MAX_KEYS (${maxKeys}) keys`);
    }
  } while (cursor !== '0');
  return keys;
}

const one = (v: Buffer): Buffer[][] => [[v]];
const int = (n: number): Buffer[][] => [[Buffer.from(String(n))]];
const each = (vs: Buffer[]): Buffer[][] => vs.map((v) => [v]);

async function withTtl(redis: Redis, key: Buffer, value: Promise<Buffer[][] | null>): Promise<Reply> {
  const [records, ttl] = await Promise.all([value, redis.ttl(key)]);
  if (records === null) return { kind: 'nil' };
  return { kind: 'values', records, ttl: ttl >= 0 ? ttl : null };
}

async function shget(redis: Redis, keys: Buffer[], match: (k: Buffer) => Buffer[] | null): Promise<Reply> {
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
  const values: (Buffer | null)[] = [];
  const chunks: Promise<(Buffer | null)[]>[] = [];
  for (let i = 0; i < all.length; i += MGET_CHUNK) chunks.push(redis.mgetBuffer(all.slice(i, i + MGET_CHUNK)));
  for (const c of await Promise.all(chunks)) values.push(...c);
  // MGET answers nil for a key of another type; tell that apart from a key that expired meanwhile.
  const nilKeys = all.filter((_, i) => values[i] === null);
  if (nilKeys.length > 0) {
    const types = await Promise.all(nilKeys.map((k) => redis.type(k)));
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

async function run(redis: Redis, plan: RedisPlan, maxKeys: number): Promise<Reply> {
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
      return { kind: 'values', records: each(await scanAll(redis, plan.glob, maxKeys)), ttl: null };
    case 'klen':
    case 'kplen':
      return { kind: 'values', records: int((await scanAll(redis, plan.glob, maxKeys)).length), ttl: null };
    case 'shards': {
      const seen = new Set<string>();
      const records: Buffer[][] = [];
      for (const k of await scanAll(redis, plan.pattern.glob, maxKeys)) {
        const captures = plan.pattern.match(k);
        if (!captures) continue;
        const id = captures.map((c) => c.toString('latin1')).join('\0');
        if (!seen.has(id)) { seen.add(id); records.push(captures); }
      }
      return { kind: 'values', records, ttl: null };
    }
    case 'shget':
      return shget(redis, await scanAll(redis, plan.pattern.glob, maxKeys), (k) => plan.pattern.match(k));
  }
}

export async function executePlan(redis: Redis, plan: RedisPlan, maxKeys: number): Promise<Reply> {
  try {
    return await run(redis, plan, maxKeys);
  } catch (e) {
    if (e instanceof TooManyKeysError) return { kind: 'error', error: 'toomany', message: e.message };
    return { kind: 'error', error: 'redis', message: (e as Error).message };
  }
}
