/**
 * The bucket keys of a totalizer in one zone and the values of the buckets a total needs, decoded by the
 * totalizer's measure (common/measure.ts). Keys come from a `keys` listing (values then one GET each) or, sharded,
 * from one `shget` listing that carries the values too. A GET answer may sit in a resolver's cache for MAX_TTL,
 * a listing's for DEFAULT_TTL only: so the open buckets (each resource's newest, still being written) are read
 * through a `shget` of their start time, and a total is at most DEFAULT_TTL behind in both modes.
 */
import { decodeBucket, type BucketValue, type Measure } from '../common/measure.js';
import { fetchListing } from './listing.js';
import { describe, type Lookups } from './lookup.js';
import { keysGlob, shgetPattern, type FieldSpec } from './matchspec.js';
import { nameOf } from './names.js';
import { pool } from './pool.js';
import type { ParsedKey } from './totals.js';

export type Failed = { key: string; reason: string }[];

export interface ValueOptions {
  measure: Measure;
  delimiter: string;
  concurrency: number;
  sharded: boolean;
  debug?: (line: string) => void;
}

/** A zone's keys, and the values a shget listing carried (null: they must be fetched). */
export interface ListedKeys {
  keys: string[];
  values: Map<string, BucketValue> | null;
  bucketsFailed: Failed;
}

const notShaped = (measure: Measure) => (measure === 'sum' ? 'value is not "sum count"' : 'value is not an integer');

/** The values a shget listing carried, keyed by the keys it rebuilds. */
async function shgetValues(
  spec: readonly FieldSpec[],
  zone: string,
  o: ValueOptions,
  lookups: Lookups,
  ending?: { start: string; fields: number },
): Promise<ListedKeys> {
  const shget = shgetPattern(spec, o.delimiter, ending);
  const listing = await fetchListing(lookups, {
    op: 'shget',
    pattern: shget.pattern,
    // The same keys as a glob, for counting and splitting.
    glob: ending
      ? keysGlob(spec, o.delimiter).slice(0, -1) + `*${o.delimiter}`.repeat(Math.max(0, ending.fields - spec.length)) + ending.start
      : keysGlob(spec, o.delimiter),
    zone,
    concurrency: o.concurrency,
    ...(o.debug ? { debug: o.debug } : {}),
  });
  if (listing.op === 'keys') return { keys: listing.records.map((rec) => rec[0]!.toString('latin1')), values: null, bucketsFailed: [] };
  const keys: string[] = [];
  const values = new Map<string, BucketValue>();
  const bucketsFailed: Failed = [];
  for (const rec of listing.records) {
    const key = shget.rebuild(rec.slice(0, shget.captures).map((b) => b.toString('latin1')));
    // One value per key (a tuple of several would be several keys' values: not ours).
    const v = rec.length === shget.captures + 1 ? decodeBucket(o.measure, rec[shget.captures]!.toString('latin1')) : null;
    keys.push(key);
    if (v) values.set(key, v);
    else bucketsFailed.push({ key, reason: notShaped(o.measure) });
  }
  return { keys, values, bucketsFailed };
}

/** Step 1: the bucket keys of the totalizer in one zone (one listing, paged or split as the path needs). */
export async function listKeys(spec: readonly FieldSpec[], zone: string, o: ValueOptions, lookups: Lookups): Promise<ListedKeys> {
  if (o.sharded) return shgetValues(spec, zone, o, lookups);
  const glob = keysGlob(spec, o.delimiter);
  const listing = await fetchListing(lookups, { op: 'keys', pattern: glob, glob, zone, concurrency: o.concurrency, ...(o.debug ? { debug: o.debug } : {}) });
  return { keys: listing.records.map((rec) => rec[0]!.toString('latin1')), values: null, bucketsFailed: [] };
}

/** Each resource's newest bucket, when it may still be written (`bucket` seconds long, if known). */
export function openBuckets(keys: readonly ParsedKey[], now: number, bucket: number | null): ParsedKey[] {
  const newest = new Map<string, ParsedKey>();
  for (const k of keys) if ((newest.get(k.resource)?.start ?? -Infinity) < k.start) newest.set(k.resource, k);
  return [...newest.values()].filter((k) => bucket === null || k.start + bucket > now);
}

/** Distinct start times of open buckets read each through their own shget; more than this, the whole listing. */
const OPEN_STARTS = 4;

/** Step 4: the values of the needed keys: the open ones through shget listings, the closed ones one GET each. */
export async function fetchValues(
  needed: readonly ParsedKey[],
  open: readonly ParsedKey[],
  spec: readonly FieldSpec[],
  zone: string,
  o: ValueOptions,
  lookups: Lookups,
): Promise<{ values: Map<string, BucketValue>; bucketsFailed: Failed }> {
  const values = new Map<string, BucketValue>();
  const bucketsFailed: Failed = [];
  const endings = [...new Map(open.map((k) => [`${k.start}/${k.fields.length}`, { start: String(k.start), fields: k.fields.length }])).values()];
  const openKeys = new Set(open.map((k) => k.key));
  const listed = await Promise.all(
    endings.length > OPEN_STARTS ? [shgetValues(spec, zone, o, lookups)] : endings.map((e) => shgetValues(spec, zone, o, lookups, e)),
  );
  for (const l of listed) {
    for (const [k, v] of l.values ?? []) if (openKeys.has(k)) values.set(k, v);
    bucketsFailed.push(...l.bucketsFailed.filter((f) => openKeys.has(f.key)));
  }
  const rest = [...new Set(needed.map((k) => k.key))].filter((k) => !values.has(k) && !bucketsFailed.some((f) => f.key === k));
  await pool(rest, o.concurrency, async (key) => {
    const name = nameOf([key, 'get'], zone);
    const r = await lookups.txt(name.labels, name.display);
    const v = r.kind === 'records' ? decodeBucket(o.measure, Buffer.concat(r.records[0] ?? []).toString('latin1')) : null;
    if (v === null) bucketsFailed.push({ key, reason: r.kind === 'records' ? notShaped(o.measure) : describe(r) });
    else values.set(key, v);
  });
  return { values, bucketsFailed };
}
