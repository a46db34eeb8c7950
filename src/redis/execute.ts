/**
 * Runs a plan through the read-only KeyReader and returns what happened as a value. Patterns are enumerated
 * with SCAN, never KEYS, so a large keyspace does not block Redis, and are capped at MAX_KEYS. A
 * partitioned listing takes its keys from a snapshot shared by the pages of one walk.
 */
import { POINTER_RECORD_HEAD } from '../dns/message.js';
import { plainRedisError } from './errors.js';
import type { RedisPlan } from '../query/operators.js';
import type { Partition } from '../query/partition.js';
import type { ShardPattern } from '../query/shards.js';
import { ScanOutgrewAnswer, type KeySnapshots } from './snapshots.js';
import { TooManyKeysError, type KeyReader } from './reader.js';
import { ValueReads, valueAt, type ValueRun } from './scan-values.js';

export type Reply =
  /** Records, each a list of character-strings; `ttl` is the key's TTL or null where none applies. */
  | {
      kind: 'values';
      records: Buffer[][];
      ttl: number | null;
      /** The records cannot repeat (a shget of one tuple per key), so the answer need not look for duplicates. */
      distinct?: boolean;
      /** Seconds since the values were read, when they were read earlier (with the scan): the TTL is that much shorter. */
      ageS?: number;
    }
  /**
   * A shget of a tuple per key, as read: each key that matches the pattern and has a value is a record of its
   * captures and that value (tupleRecords), which the answer writes straight from the keys' bytes.
   */
  | { kind: 'tuples'; keys: readonly Buffer[]; values: ValueRun; pattern: ShardPattern; ageS?: number }
  | { kind: 'nil' }
  | { kind: 'error'; error: 'redis' | 'toomany' | 'toolarge'; message: string };

const one = (v: Buffer): Buffer[][] => [[v]];
const int = (n: number): Buffer[][] => [[Buffer.from(String(n))]];
const each = (vs: Buffer[]): Buffer[][] => vs.map((v) => [v]);

/**
 * A single-key read's reply, from the read and the key's TTL sent together (KeyReader.withTtl: one write and one
 * promise on the pipelined connection, where two sends and Promise.all would make four). Plain promise chains,
 * not async functions: every query that reads Redis comes through here, and each async layer costs it promises
 * and event-loop microtasks.
 */
function paired<T>(pair: Promise<[T, number]>, records: (v: T) => Buffer[][] | null): Promise<Reply> {
  return pair.then(([v, ttl]) => valueReply(records(v), ttl));
}

function valueReply(records: Buffer[][] | null, ttl: number): Reply {
  return records === null ? { kind: 'nil' } : { kind: 'values', records, ttl: ttl >= 0 ? ttl : null };
}

const oneOrNil = (v: Buffer | null): Buffer[][] | null => (v === null ? null : one(v));

/**
 * Keys grouped by their captures, in first-seen order; capture Buffers are made once per group. Stops as
 * soon as there are more groups than one answer can hold: a million keys are refused in milliseconds.
 */
function groupKeys(src: KeySource, keys: Buffer[], pattern: ShardPattern): Iterable<{ captures: Buffer[]; keys: Buffer[] }> {
  // Where every key is a tuple of its own, there is nothing to group: no id is made, no map kept.
  if (pattern.tuplePerKey) {
    const tuples: { captures: Buffer[]; keys: Buffer[] }[] = [];
    for (const k of keys) {
      // Views of the key's bytes: a page's keys live as long as its answer is made.
      const captures = pattern.match(k);
      if (captures) tuples.push({ captures, keys: [k] });
    }
    checkFits(src, tuples.length);
    return tuples;
  }
  const groups = new Map<string, { captures: Buffer[]; keys: Buffer[] }>();
  for (const k of keys) {
    const captures = pattern.matchText(k);
    if (!captures) continue;
    const id = captures.join('\0');
    let g = groups.get(id);
    if (!g) {
      groups.set(id, (g = { captures: captures.map((c) => Buffer.from(c, 'latin1')), keys: [] }));
      checkFits(src, groups.size);
    }
    g.keys.push(k);
  }
  return groups.values();
}

/** A page's values as its snapshot read them with the scan, and how many seconds ago. */
interface ReadEarlier {
  values: ValueRun;
  ageS: number;
}

async function shget(src: KeySource, keys: Buffer[], pattern: ShardPattern, earlier?: ReadEarlier): Promise<Reply> {
  // A key per tuple, all of which fit one answer (more are refused below, before any value is read, over UDP too).
  const fitting = pattern.tuplePerKey && (src.maxRecords === null || keys.length <= src.maxRecords);
  if (fitting && src.udp) {
    const first = await udpRecords(src, keys, pattern, src.udp, earlier);
    if (first) return first;
  }
  const reader = src.reader;
  if (fitting) {
    // The keys are matched as the answer is written: while Redis reads the values, a page holds its keys only.
    const values = earlier ? earlier.values : await readValues(reader, keys);
    return (
      (await wrongType(
        reader,
        keys.filter((k, i) => values.length[i]! < 0 && pattern.match(k)),
      )) ?? { kind: 'tuples', keys, values, pattern, ...(earlier ? { ageS: earlier.ageS } : {}) }
    );
  }
  const groups = [...groupKeys(src, keys, pattern)];
  const all: Buffer[] = [];
  for (const g of groups) for (const k of g.keys) all.push(k);
  const values = await reader.mget(all);
  const wrong = await wrongType(
    reader,
    all.filter((_, i) => values[i] === null),
  );
  if (wrong) return wrong;
  const records: Buffer[][] = [];
  let i = 0;
  for (const g of groups) {
    // The captures' array becomes the record: the values are appended to it.
    const record = g.captures;
    const captured = record.length;
    for (let j = 0; j < g.keys.length; j++, i++) if (values[i] !== null) record.push(values[i]!);
    if (record.length > captured) records.push(record);
  }
  return { kind: 'values', records, ttl: null, distinct: pattern.tuplePerKey };
}

/** The values of a page's keys, packed as they are read. */
async function readValues(reader: KeyReader, keys: readonly Buffer[]): Promise<ValueRun> {
  const reads = new ValueReads(reader, keys.length);
  await reads.read(keys, 0);
  return reads.run;
}

/** MGET answers nil for a key of another type: tells that apart from a key that expired meanwhile (null). */
async function wrongType(reader: KeyReader, nilKeys: readonly Buffer[]): Promise<Reply | null> {
  if (nilKeys.length === 0) return null;
  const types = await Promise.all(nilKeys.map((k) => reader.type(k)));
  const wrong = types.findIndex((t) => t !== 'none' && t !== 'string');
  return wrong < 0 ? null : { kind: 'error', error: 'redis', message: `WRONGTYPE key ${nilKeys[wrong]!.toString('latin1')} holds a ${types[wrong]}` };
}

/** The records of a `tuples` reply: each matching key's captures, then its value. */
export function tupleRecords(r: Extract<Reply, { kind: 'tuples' }>): Buffer[][] {
  const records: Buffer[][] = [];
  r.keys.forEach((k, i) => {
    const value = valueAt(r.values, i);
    const record = value ? r.pattern.match(k) : null;
    if (record) records.push([...record, value!]);
  });
  return records;
}

/**
 * A UDP answer holds the records that fit and TC=1 for the rest, which the client then asks for over TCP (every
 * resolver asks a listing page so first). The values of a page of a tuple per key are therefore read only until its
 * records are sure to overflow the largest UDP answer: the answer is the same (the same first records, TC=1), and
 * Redis reads a hundred values instead of the page's hundreds. All the keys read without overflowing, the records are
 * the page's whole. Null when this cannot be sure (the page is then read as usual): a missing value (a key that
 * expired, or of another type, which the usual read tells apart), or a string over MAX_VALUE_PAYLOAD (cut or dropped,
 * a record may shrink or merge with another).
 */
async function udpRecords(src: KeySource, keys: Buffer[], pattern: ShardPattern, udp: UdpLimits, earlier?: ReadEarlier): Promise<Reply | null> {
  const records: Buffer[][] = [];
  let bytes = 0;
  for (let from = 0; from < keys.length && bytes <= udp.payload;) {
    // As many keys as could still fit, each at the smallest a record can be, and one more.
    const to = Math.min(keys.length, from + Math.ceil((udp.payload - bytes) / MIN_RECORD_BYTES) + 1);
    const slice = keys.slice(from, to);
    const values = earlier ? slice.map((_, i) => valueAt(earlier.values, from + i)) : await src.reader.mget(slice);
    for (let i = 0; i < slice.length; i++) {
      const value = values[i];
      if (!value || value.length > udp.maxValue) return null;
      const record = pattern.match(slice[i]!);
      if (!record) continue;
      let size = POINTER_RECORD_HEAD + 1 + value.length;
      for (const c of record) {
        if (c.length > udp.maxValue) return null;
        size += 1 + c.length;
      }
      record.push(value);
      records.push(record);
      bytes += size;
    }
    from = to;
  }
  return { kind: 'values', records, ttl: null, distinct: true, ...(earlier ? { ageS: earlier.ageS } : {}) };
}

/** Where listings get their keys: a fresh SCAN, or for one partition, the pattern's snapshot. */
export interface KeySource {
  reader: KeyReader;
  snapshots: KeySnapshots;
  maxKeys: number;
  /** More records than this cannot fit one answer, so their values are not fetched; null: no limit. */
  maxRecords: number | null;
  /** For a TXT answer over UDP: the most bytes it may hold, and the longest string it shows whole. */
  udp?: UdpLimits;
  /**
   * How many seconds old the values a page of a tuple per key takes from its snapshot may be (they are then read
   * with the scan, and the answer's TTL is shortened by their age); 0: values are always read from Redis.
   */
  valuesMaxAgeS?: number;
}

export interface UdpLimits {
  payload: number;
  maxValue: number;
}

/** The smallest record: its head (a name pointer, type, class, TTL, length) and one empty character-string. */
export const MIN_RECORD_BYTES = POINTER_RECORD_HEAD + 1;

class TooLargeError extends Error {}

/** Refuses a listing before any value is read when its records cannot fit one answer anyway. */
function checkFits(src: KeySource, records: number): void {
  if (src.maxRecords !== null && records > src.maxRecords) throw new TooLargeError(`${records} records cannot fit one answer`);
}

function fits<T>(src: KeySource, records: T[]): T[] {
  checkFits(src, records.length);
  return records;
}

/**
 * `recordPerKey`: each key is a record of the answer, so a scan past maxRecords keys refuses it at once. `withValues`:
 * a scan started here reads the values too, for the pages that follow.
 */
function listKeys(src: KeySource, glob: Buffer, part: Partition | undefined, recordPerKey: boolean, withValues = false): Promise<Buffer[]> {
  if (part) return src.snapshots.partition(src.reader, glob, src.maxKeys, part);
  return src.snapshots.fresh(src.reader, glob, src.maxKeys, recordPerKey && src.maxRecords !== null ? src.maxRecords : undefined, withValues);
}

/** A shget: a page of a tuple per key from its snapshot, with the values read with the scan where they may serve. */
async function shgetListing(src: KeySource, plan: { pattern: ShardPattern; part?: Partition }): Promise<Reply> {
  const { pattern, part } = plan;
  const maxAgeS = pattern.tuplePerKey ? (src.valuesMaxAgeS ?? 0) : 0;
  if (part && maxAgeS > 0) {
    const page = await src.snapshots.page(src.reader, pattern.glob, src.maxKeys, part, 1000 * maxAgeS);
    return shget(src, page.keys, pattern, page.values ? { values: page.values, ageS: Math.ceil(page.ageMs / 1000) } : undefined);
  }
  return shget(src, await listKeys(src, pattern.glob, part, pattern.tuplePerKey, maxAgeS > 0), pattern);
}

async function countKeys(src: KeySource, glob: Buffer, part: Partition | undefined): Promise<number> {
  return part ? src.snapshots.count(src.reader, glob, src.maxKeys, part) : (await src.snapshots.fresh(src.reader, glob, src.maxKeys)).length;
}

/**
 * A count as one record. A partitioned count (the form clients probe with before paging) over MAX_KEYS answers
 * `>MAX_KEYS` instead of failing, so a client behind any resolver learns why the listing is refused; the
 * upstream form, without a partition, fails as upstream's does.
 */
async function countRecords(src: KeySource, glob: Buffer, part: Partition | undefined): Promise<Buffer[][]> {
  try {
    return int(await countKeys(src, glob, part));
  } catch (e) {
    if (part && e instanceof TooManyKeysError) return [[Buffer.from(`>${src.maxKeys}`)]];
    throw e;
  }
}

function run(src: KeySource, plan: RedisPlan): Promise<Reply> {
  const r = src.reader;
  switch (plan.op) {
    case 'get':
      return paired(r.withTtl('get', plan.key), oneOrNil);
    case 'hget':
      return paired(r.withTtl('hget', plan.key, plan.field), oneOrNil);
    case 'lindex':
      return paired(r.withTtl('lindex', plan.key, plan.index), oneOrNil);
    case 'hkeys':
      return paired(r.withTtl('hkeys', plan.key), each);
    case 'smembers':
      return paired(r.withTtl('smembers', plan.key), each);
    case 'lrange':
      return paired(r.withTtl('lrange', plan.key, plan.start, plan.stop), each);
    case 'hlen':
      return paired(r.withTtl('hlen', plan.key), int);
    case 'llen':
      return paired(r.withTtl('llen', plan.key), int);
    case 'scard':
      return paired(r.withTtl('scard', plan.key), int);
    default:
      return listing(src, plan);
  }
}

async function listing(src: KeySource, plan: Exclude<RedisPlan, { key: Buffer }>): Promise<Reply> {
  switch (plan.op) {
    case 'keys':
      return { kind: 'values', records: each(fits(src, await listKeys(src, plan.glob, plan.part, true))), ttl: null };
    case 'klen':
    case 'kplen':
      return { kind: 'values', records: await countRecords(src, plan.glob, plan.part), ttl: null };
    case 'shards':
      return {
        kind: 'values',
        records: [...groupKeys(src, await listKeys(src, plan.pattern.glob, plan.part, plan.pattern.tuplePerKey), plan.pattern)].map((g) => g.captures),
        ttl: null,
      };
    case 'shget':
      return shgetListing(src, plan);
  }
}

const failed = (e: unknown): Reply => {
  if (e instanceof TooManyKeysError) return { kind: 'error', error: 'toomany', message: e.message };
  if (e instanceof TooLargeError || e instanceof ScanOutgrewAnswer) return { kind: 'error', error: 'toolarge', message: e.message };
  return { kind: 'error', error: 'redis', message: plainRedisError((e as Error).message) };
};

export function executePlan(src: KeySource, plan: RedisPlan): Promise<Reply> {
  try {
    return run(src, plan).catch(failed);
  } catch (e) {
    // A reader that throws instead of rejecting still gets its outcome.
    return Promise.resolve(failed(e));
  }
}
