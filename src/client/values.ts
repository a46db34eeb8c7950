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
import type { BucketSet } from './bucket-set.js';
import { parseKeys, type BucketOrder } from './totals.js';
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

/** A zone's listed buckets, with their values when the listing carried them (else they must be fetched). */
export interface ListedKeys {
  buckets: BucketSet;
  carriesValues: boolean;
  bucketsFailed: Failed;
}

function listedKeys(keys: string[], spec: readonly FieldSpec[], delimiter: string): ListedKeys {
  return { buckets: parseKeys(keys, spec, delimiter), carriesValues: false, bucketsFailed: [] };
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
    expect: (keys) => buckets.reserve(keys),
    ...(o.debug ? { debug: o.debug } : {}),
    ...(o.progress ? { progress: o.progress } : {}),
  });
  if (listing.op === 'keys')
    return listedKeys(
      listing.records.map((rec) => rec[0]!),
      spec,
      o.delimiter,
    );
  return { buckets: buckets.finish(), carriesValues: true, bucketsFailed: buckets.bucketsFailed };
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

/** Each resource's newest bucket (ordered, see orderBuckets), when it may still be written (`bucket` seconds long, if known). */
export function openBuckets(set: BucketSet, order: BucketOrder, now: number, bucket: number | null): number[] {
  const open: number[] = [];
  for (let r = 0; r < set.resources; r++) {
    if (order.from[r] === order.from[r + 1]) continue;
    const i = order.at[order.from[r]!]!;
    if (bucket === null || set.start[i]! + bucket > now) open.push(i);
  }
  return open;
}

/** Distinct start times of open buckets read each through their own shget; more than this, the whole listing. */
const OPEN_STARTS = 4;

/** Step 4: the values of the needed buckets (of `set`): the open ones through shget listings, the closed ones one GET each. */
export async function fetchValues(
  set: BucketSet,
  needed: readonly number[],
  open: readonly number[],
  spec: readonly FieldSpec[],
  zone: string,
  o: ValueOptions,
  lookups: Lookups,
): Promise<{ values: Map<string, BucketValue>; bucketsFailed: Failed }> {
  const values = new Map<string, BucketValue>();
  const bucketsFailed: Failed = [];
  const fieldsOf = (i: number) => set.resFields[set.res[i]!]!;
  const endings = [...new Map(open.map((i) => [`${set.start[i]}/${fieldsOf(i)}`, { start: String(set.start[i]), fields: fieldsOf(i) }])).values()];
  const openKeys = new Set(open.map((i) => set.keyOf(i)));
  const listed = await Promise.all(
    endings.length > OPEN_STARTS ? [shgetValues(spec, zone, o, lookups)] : endings.map((e) => shgetValues(spec, zone, o, lookups, e)),
  );
  for (const l of listed) {
    const b = l.buckets;
    if (l.carriesValues)
      for (let i = 0; i < b.count; i++) {
        const v = b.valueOf(i);
        if (v && openKeys.has(b.keyOf(i))) values.set(b.keyOf(i), v);
      }
    for (const f of l.bucketsFailed) if (openKeys.has(f.key)) bucketsFailed.push(f);
  }
  const rest = [...new Set(needed.map((i) => set.keyOf(i)))].filter((k) => !values.has(k) && !bucketsFailed.some((f) => f.key === k));
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
