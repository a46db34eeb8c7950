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
import { parseKeys, type KeyParse, type ParsedKey } from './totals.js';
import { notShaped, TupleParser } from './tuples.js';
import type { Progress } from './progress.js';

export type Failed = { key: string; reason: string }[];

export interface ValueOptions {
  measure: Measure;
  delimiter: string;
  concurrency: number;
  sharded: boolean;
  debug?: (line: string) => void;
  progress?: Progress;
}

/** A zone's listed buckets, and the values a shget listing carried, bucket by bucket (null: they must be fetched). */
export interface ListedKeys {
  count: number;
  /** The buckets for the spec (see totals.ts), with their values when the listing carried them. */
  parse(fieldCount?: number): KeyParse;
  carriesValues: boolean;
  bucketsFailed: Failed;
}

function listedKeys(keys: string[], spec: readonly FieldSpec[], delimiter: string): ListedKeys {
  return { count: keys.length, parse: (fieldCount) => parseKeys(keys, spec, delimiter, fieldCount), carriesValues: false, bucketsFailed: [] };
}

/** The buckets and values a shget listing carried, as its tuples give them. */
async function shgetValues(
  spec: readonly FieldSpec[],
  zone: string,
  o: ValueOptions,
  lookups: Lookups,
  ending?: { start: string; fields: number },
): Promise<ListedKeys> {
  const shget = shgetPattern(spec, o.delimiter, ending);
  // Each page is read into buckets as it comes, and dropped.
  const buckets = new TupleParser(shget, spec, o.delimiter, o.measure);
  const listing = await fetchListing(lookups, {
    op: 'shget',
    pattern: shget.pattern,
    // The same keys as a glob, for counting and splitting.
    glob: ending
      ? keysGlob(spec, o.delimiter).slice(0, -1) + `*${o.delimiter}`.repeat(Math.max(0, ending.fields - spec.length)) + ending.start
      : keysGlob(spec, o.delimiter),
    zone,
    concurrency: o.concurrency,
    sink: (page) => buckets.addPage(page),
    ...(o.debug ? { debug: o.debug } : {}),
    ...(o.progress ? { progress: o.progress } : {}),
  });
  if (listing.op === 'keys')
    return listedKeys(
      listing.records.map((rec) => rec[0]!),
      spec,
      o.delimiter,
    );
  return { count: buckets.count, parse: (fieldCount) => buckets.finish(fieldCount), carriesValues: true, bucketsFailed: buckets.bucketsFailed };
}

/** Step 1: the bucket keys of the totalizer in one zone (one listing, paged or split as the path needs). */
export async function listKeys(spec: readonly FieldSpec[], zone: string, o: ValueOptions, lookups: Lookups): Promise<ListedKeys> {
  if (o.sharded) return shgetValues(spec, zone, o, lookups);
  const glob = keysGlob(spec, o.delimiter);
  const listing = await fetchListing(lookups, {
    op: 'keys',
    pattern: glob,
    glob,
    zone,
    concurrency: o.concurrency,
    ...(o.debug ? { debug: o.debug } : {}),
    ...(o.progress ? { progress: o.progress } : {}),
  });
  return listedKeys(
    listing.records.map((rec) => rec[0]!),
    spec,
    o.delimiter,
  );
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
  const endings = [...new Map(open.map((k) => [`${k.start}/${k.fieldCount}`, { start: String(k.start), fields: k.fieldCount }])).values()];
  const openKeys = new Set(open.map((k) => k.key));
  const listed = await Promise.all(
    endings.length > OPEN_STARTS ? [shgetValues(spec, zone, o, lookups)] : endings.map((e) => shgetValues(spec, zone, o, lookups, e)),
  );
  for (const l of listed) {
    if (l.carriesValues) for (const k of l.parse().keys) if (k.value && openKeys.has(k.key)) values.set(k.key, k.value);
    bucketsFailed.push(...l.bucketsFailed.filter((f) => openKeys.has(f.key)));
  }
  const rest = [...new Set(needed.map((k) => k.key))].filter((k) => !values.has(k) && !bucketsFailed.some((f) => f.key === k));
  let read = 0;
  await pool(rest, o.concurrency, async (key) => {
    const name = nameOf([key, 'get'], zone);
    const r = await lookups.txt(name.labels, name.display);
    const v = r.kind === 'records' ? decodeBucket(o.measure, (r.records[0] ?? []).join('')) : null;
    if (v === null) bucketsFailed.push({ key, reason: r.kind === 'records' ? notShaped(o.measure) : describe(r) });
    else values.set(key, v);
    o.progress?.values?.(++read, rest.length);
  });
  return { values, bucketsFailed };
}
