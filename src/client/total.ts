/**
 * total(spec, options): the totals of a totalizer over a window, fetched through DNS only. Lists the bucket
 * keys (`<glob>.keys.<zone>`, one GET per needed bucket) or, sharded, with one `<pattern>.shget.<zone>`;
 * both paths feed the same walk, so they give identical totals. With a fanout name, the zones its PTR
 * records list are totalled in parallel and added.
 */
import { DnsClient, parseNameserver, systemNameservers } from '../dns/client.js';
import { TotalError } from './errors.js';
import { Lookups } from './lookup.js';
import { nameOf } from './names.js';
import { fieldSpec, validateSpec, type FieldSpec } from './matchspec.js';
import type { Description } from '../common/description.js';
import type { Measure } from '../common/measure.js';
import { selectBuckets } from './bucket-set.js';
import { foldWindow, GroupTotals, primary, SparkTotals, trendOf, type Folded } from './combine.js';
import { defaultTtlOf, describedTotalizers, readDescription } from './described.js';
import { orderBuckets, walkBuckets } from './totals.js';
import { fetchValues, listKeys, openBuckets } from './values.js';
import type { Progress } from './progress.js';

export { TotalError };

export interface TotalOptions {
  zone: string;
  /** Seconds. */
  window: number;
  delimiter?: string;
  /** Fields per key, timestamp included; inferred from the keys when not given. */
  fieldCount?: number;
  /** `host[:port]`; default: the system resolver (/etc/resolv.conf). */
  nameservers?: string[];
  sharded?: boolean;
  timeoutMs?: number;
  tries?: number;
  trend?: boolean;
  /** Number of columns of a per-group bucket series over the window (for sparklines). */
  sparkBins?: number;
  /** A name whose PTR records list several zones to total and add. */
  fanout?: string;
  /** Parallel GETs in keys+get mode. */
  concurrency?: number;
  /** Unix seconds; default now. */
  now?: number;
  debug?: (line: string) => void;
  /** Told how paged listings and value reads advance (totalize's progress line). */
  progress?: Progress;
  /** Cacheable one cache across calls (watch mode). */
  lookups?: Lookups;
  /**
   * The totalizer's description (measure, scale, bucket length); read from the first zone when not given, null
   * for none (counts, as the original agent writes them).
   */
  description?: Description | null;
  /** Maps a group to the group it is totalled under (grouping by parts of a field); identity when not given. */
  regroup?: (group: string) => string;
}

export interface GroupResult {
  group: string;
  fields: string[];
  /** The measure's total: the count, the sum, the maximum or the minimum (decimal at the totalizer's scale). */
  value: number;
  /** Lines (count and sum). */
  count?: number;
  sum?: number;
  /** sum / count. */
  avg?: number;
  max?: number;
  min?: number;
  trend?: number;
  spark?: number[];
}

export interface Diagnostics {
  zones: string[];
  queries: number;
  cacheHits: number;
  keysListed: number;
  keysSkipped: { key: string; reason: string }[];
  bucketsFailed: { key: string; reason: string }[];
  /** What the caller should be told besides the totals. */
  notes: string[];
}

export interface TotalResult {
  measure: Measure;
  scale: number;
  groups: GroupResult[];
  diagnostics: Diagnostics;
  /**
   * How old the newest data may be: the open buckets come through listings, cached at most DEFAULT_TTL; unless the
   * resolver served some answers stale (past their TTL, because it could not reach rkvdns), which it says (EDE).
   */
  freshness: { atMostSeconds: number | null; staleAnswers: number };
  description: Description | null;
}

type Options = TotalOptions & Required<Pick<TotalOptions, 'delimiter' | 'concurrency'>> & { measure: Measure; bucket: number | null };

interface ZonePart {
  /** Group names by number, and per number the window's totals, its last quarter's, and the sparkline columns. */
  groups: readonly string[];
  main: GroupTotals;
  recent: GroupTotals;
  spark: SparkTotals | null;
  keysListed: number;
  keysSkipped: Diagnostics['keysSkipped'];
  bucketsFailed: Diagnostics['bucketsFailed'];
}

/** One zone: list → select buckets (the window, and its last quarter for the trend) → values → fold by group. */
async function totalZone(spec: FieldSpec[], zone: string, o: Options, lookups: Lookups, now: number): Promise<ZonePart> {
  const vo = {
    measure: o.measure,
    delimiter: o.delimiter,
    concurrency: o.concurrency,
    sharded: !!o.sharded,
    ...(o.debug ? { debug: o.debug } : {}),
    ...(o.progress ? { progress: o.progress } : {}),
  };
  const listed = await listKeys(spec, zone, vo, lookups);
  const set = listed.buckets;
  o.progress?.totalling?.(set.count);
  const { skipped } = selectBuckets(set, o.fieldCount);
  if (o.regroup) set.regroup(o.regroup);
  // Each resource's buckets, newest first; walked for the window (and its last quarter), folded as they are found.
  const order = orderBuckets(set);
  let bucketsFailed = listed.bucketsFailed;
  if (!listed.carriesValues) {
    const needed: number[] = [];
    // The last quarter's buckets are among the window's.
    walkBuckets(set, order, now, o.window, (i) => needed.push(i));
    const fetched = await fetchValues(set, needed, openBuckets(set, order, now, o.bucket), spec, zone, vo, lookups);
    for (const i of needed) set.setValue(i, fetched.values.get(set.keyOf(i)));
    bucketsFailed = fetched.bucketsFailed;
  }
  const size = set.groups.length;
  const main = new GroupTotals(o.measure, size);
  const recent = new GroupTotals(o.measure, size);
  const spark = o.sparkBins ? new SparkTotals(o.measure, now, o.window, o.sparkBins, size) : null;
  foldWindow(set, order, now, o.window, main, spark);
  if (o.trend) foldWindow(set, order, now, o.window / 4, recent);
  return { groups: set.groups, main, recent, spark, keysListed: set.count, keysSkipped: skipped, bucketsFailed };
}

const round = (x: number, places: number) => Math.round(x * 10 ** places) / 10 ** places;

/** A group's folded buckets as the result shows them: decimals at the totalizer's scale. */
function groupResult(group: string, f: Folded, o: Options, scale: number): GroupResult {
  const unit = 10 ** -scale;
  const fields = group.split(o.delimiter);
  switch (o.measure) {
    case 'count':
      return { group, fields, value: Math.round(f.n), count: Math.round(f.n) };
    case 'sum': {
      const sum = round(Math.round(f.s) * unit, scale);
      return { group, fields, value: sum, sum, count: Math.round(f.n), ...(f.n > 0 ? { avg: round((f.s / f.n) * unit, scale + 2) } : {}) };
    }
    default: {
      const v = round(f.s * unit, scale);
      return { group, fields, value: v, [o.measure]: v };
    }
  }
}

/** Several zones' groups as one: numbered anew by name, counts and sums added, extremes compared. */
function mergeZones(parts: readonly ZonePart[], o: Options, now: number): ZonePart {
  const ids = new Map<string, number>();
  const groups: string[] = [];
  const main = new GroupTotals(o.measure);
  const recent = new GroupTotals(o.measure);
  const spark = o.sparkBins ? new SparkTotals(o.measure, now, o.window, o.sparkBins) : null;
  for (const p of parts) {
    const to = p.groups.map((g) => ids.get(g) ?? (ids.set(g, groups.length), groups.push(g) - 1));
    main.merge(p.main, to);
    recent.merge(p.recent, to);
    if (spark && p.spark) spark.merge(p.spark, to);
  }
  return { ...parts[0]!, groups, main, recent, spark };
}

/** `once`: for a single total, whose listing pages are not kept once read (see Lookups). */
export function makeLookups(o: Pick<TotalOptions, 'nameservers' | 'timeoutMs' | 'tries' | 'debug'> & { once?: boolean }): Lookups {
  const servers = o.nameservers?.length ? o.nameservers.map(parseNameserver) : systemNameservers();
  const client = new DnsClient({ servers, timeoutMs: o.timeoutMs ?? 2000, tries: o.tries ?? 3, ...(o.debug ? { trace: o.debug } : {}) });
  return new Lookups(client, !o.once);
}

async function zonesOf(fanout: string, lookups: Lookups, debug?: (l: string) => void): Promise<string[]> {
  const r = await lookups.ptr(nameOf([], fanout).labels, `${fanout} PTR`);
  if (r.kind === 'records') return r.records.map((rec) => rec[0]!).sort();
  // No PTR records: the name is a zone itself. An rkvdns apex answers PTR with FORMERR (CONFORMANCE off),
  // which a resolver turns into SERVFAIL, so a failed lookup means the same; the listing reports real trouble.
  if (r.kind === 'failed') debug?.(`${fanout} PTR: ${r.reason}; using ${fanout} as the zone`);
  return [fanout];
}

/** The description of `prefix` in the zone (the first zone of a fanout) that total() will read. */
export async function totalizerDescription(prefix: string, o: Pick<TotalOptions, 'zone' | 'fanout' | 'debug'>, lookups: Lookups): Promise<Description | null> {
  const zones = o.fanout ? await zonesOf(o.fanout, lookups, o.debug) : [o.zone];
  return readDescription(prefix, zones[0]!, lookups);
}

export async function total(specIn: ReadonlyArray<string | null | FieldSpec>, options: TotalOptions): Promise<TotalResult> {
  const spec = specIn.map(fieldSpec);
  validateSpec(spec);
  if (!(options.window > 0)) throw new TotalError(`window must be a positive number of seconds, got ${options.window}`);
  const lookups = options.lookups ?? makeLookups({ ...options, once: true });
  const queriesBefore = lookups.queries;
  const hitsBefore = lookups.hits;
  const staleBefore = lookups.staleAnswers;
  const now = options.now ?? Date.now() / 1000;
  const zones = options.fanout ? await zonesOf(options.fanout, lookups, options.debug) : [options.zone];
  const prefix = spec[0]?.kind === 'literal' ? spec[0].value : null;
  const description = options.description !== undefined ? options.description : prefix === null ? null : await readDescription(prefix, zones[0]!, lookups);
  const measure = description?.measure ?? 'count';
  const scale = description?.scale ?? 0;
  const o: Options = { delimiter: ';', concurrency: 64, ...options, measure, bucket: description?.bucket || null };
  // The zone's DEFAULT_TTL is asked only once the zones answered: where they do not, the listing's failure is the
  // diagnosis, and no query is added to it. Where a description came back, the zone answers: the setting is asked
  // while the zones are walked (a query over TCP that would be a round trip after the last page), and awaited after.
  const early = description ? defaultTtlOf(zones[0]!, lookups) : null;
  early?.catch(() => undefined);
  const parts = await Promise.all(zones.map((z) => totalZone(spec, z, o, lookups, now)));
  const defaultTtl = await (early ?? defaultTtlOf(zones[0]!, lookups));
  const notes = prefix !== null && description === null ? await unknownOrQuiet(prefix, parts, zones[0]!, lookups) : [];
  // One zone's groups are the totals as they are; several zones' are merged by name.
  const all = parts.length === 1 ? parts[0]! : mergeZones(parts, o, now);
  const unit = 10 ** -scale;
  const groups: GroupResult[] = [];
  for (let id = 0; id < all.groups.length; id++) {
    const f = all.main.get(id);
    if (!f) continue;
    const g = groupResult(all.groups[id]!, f, o, scale);
    if (o.trend) {
      const recent = all.recent.get(id);
      g.trend = round(trendOf(measure, primary(f, measure), recent ? primary(recent, measure) : undefined), 2);
    }
    if (all.spark) g.spark = all.spark.row(id).map((v) => (measure === 'count' ? v : v * unit));
    groups.push(g);
  }
  // Largest first; for minima the smallest first.
  const sign = measure === 'min' ? -1 : 1;
  groups.sort((a, b) => sign * (b.value - a.value) || (a.group < b.group ? -1 : 1));
  return {
    measure,
    scale,
    groups,
    description,
    freshness: { atMostSeconds: defaultTtl, staleAnswers: lookups.staleAnswers - staleBefore },
    diagnostics: {
      zones,
      queries: lookups.queries - queriesBefore,
      cacheHits: lookups.hits - hitsBefore,
      keysListed: parts.reduce((a, p) => a + p.keysListed, 0),
      keysSkipped: parts.flatMap((p) => p.keysSkipped),
      bucketsFailed: parts.flatMap((p) => p.bucketsFailed),
      notes,
    },
  };
}

/**
 * A totalizer with no description and no keys: unknown when others are described (an error that names them),
 * else perhaps only quiet (keys written without descriptions, as the original agent writes them): a note.
 */
async function unknownOrQuiet(prefix: string, parts: readonly ZonePart[], zone: string, lookups: Lookups): Promise<string[]> {
  if (parts.some((p) => p.keysListed > 0)) return [];
  const known = await describedTotalizers(zone, lookups);
  if (known.length > 0)
    throw new TotalError(`no totalizer '${prefix}' in ${zone}: no key and no description under that name; the described ones are ${known.join(', ')}`);
  return [`no totalizer is described in ${zone}, so '${prefix}' may be unknown or only quiet in this window`];
}
