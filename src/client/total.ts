/**
 * total(spec, options): the totals of a totalizer over a window, fetched through DNS only. Lists the bucket
 * keys (`<glob>.keys.<zone>`, one GET per needed bucket) or, sharded, with one `<pattern>.shget.<zone>`;
 * both paths feed the same walk, so they give identical totals. With a fanout name, the zones its PTR
 * records list are totalled in parallel and added.
 */
import { DnsClient, parseNameserver, systemNameservers } from '../dns/client.js';
import { TotalError } from './errors.js';
import { fetchListing } from './listing.js';
import { Lookups, describe } from './lookup.js';
import { nameOf } from './names.js';
import { pool } from './pool.js';
import { fieldSpec, keysGlob, shgetPattern, validateSpec, type FieldSpec } from './matchspec.js';
import { parseKeys, sumGroups, trendOf, walkBuckets, type ParsedKey, type WeightedBucket } from './totals.js';

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
  /** Cacheable one cache across calls (watch mode). */
  lookups?: Lookups;
}

export interface GroupResult {
  group: string;
  fields: string[];
  count: number;
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
}

export interface TotalResult {
  groups: GroupResult[];
  diagnostics: Diagnostics;
}

type Options = TotalOptions & Required<Pick<TotalOptions, 'delimiter' | 'concurrency'>>;

/** A zone's keys, and the values the listing already carried (shget) with the buckets whose value is unusable. */
interface ListedKeys {
  keys: string[];
  /** Values per key when the listing carried them (shget); null when they must be fetched with GET. */
  values: Map<string, number> | null;
  bucketsFailed: Diagnostics['bucketsFailed'];
}

interface ZonePart {
  sums: Map<string, number>;
  recent: Map<string, number>;
  spark: Map<string, number[]>;
  keysListed: number;
  keysSkipped: Diagnostics['keysSkipped'];
  bucketsFailed: Diagnostics['bucketsFailed'];
}

function parseCount(v: Buffer | undefined): number | null {
  const s = v?.toString('latin1') ?? '';
  return /^-?\d+$/.test(s) ? Number(s) : null;
}

/** Step 1: the bucket keys of the totalizer in one zone (one listing, paged or split as the path needs). */
async function listKeys(spec: readonly FieldSpec[], zone: string, o: Options, lookups: Lookups): Promise<ListedKeys> {
  const glob = keysGlob(spec, o.delimiter);
  const shget = shgetPattern(spec, o.delimiter);
  const listing = await fetchListing(lookups, {
    op: o.sharded ? 'shget' : 'keys',
    pattern: o.sharded ? shget.pattern : glob,
    glob,
    zone,
    concurrency: o.concurrency,
    ...(o.debug ? { debug: o.debug } : {}),
  });
  if (listing.op === 'keys') return { keys: listing.records.map((rec) => rec[0]!.toString('latin1')), values: null, bucketsFailed: [] };
  // A shget tuple is the key's captures followed by its value(s).
  const keys: string[] = [];
  const values = new Map<string, number>();
  const bucketsFailed: Diagnostics['bucketsFailed'] = [];
  for (const rec of listing.records) {
    const key = shget.rebuild(rec.slice(0, shget.captures).map((b) => b.toString('latin1')));
    const counts = rec.slice(shget.captures).map(parseCount);
    keys.push(key);
    if (counts.length > 0 && counts.every((n) => n !== null))
      values.set(
        key,
        counts.reduce<number>((a, n) => a + (n ?? 0), 0),
      );
    else bucketsFailed.push({ key, reason: 'value is not an integer' });
  }
  return { keys, values, bucketsFailed };
}

/** Step 3: the buckets the window needs (the whole window, and its last quarter for the trend). */
function selectBuckets(keys: readonly ParsedKey[], now: number, o: Options): { main: WeightedBucket[]; recent: WeightedBucket[] } {
  return { main: walkBuckets(keys, now, o.window), recent: o.trend ? walkBuckets(keys, now, o.window / 4) : [] };
}

/** Step 4: the value of each needed key, one GET each, in parallel. */
async function fetchValues(
  keys: readonly string[],
  zone: string,
  o: Options,
  lookups: Lookups,
): Promise<{ values: Map<string, number>; bucketsFailed: Diagnostics['bucketsFailed'] }> {
  const values = new Map<string, number>();
  const bucketsFailed: Diagnostics['bucketsFailed'] = [];
  await pool([...new Set(keys)], o.concurrency, async (key) => {
    const name = nameOf([key, 'get'], zone);
    const r = await lookups.txt(name.labels, name.display);
    const n = r.kind === 'records' ? parseCount(r.records[0]?.[0]) : null;
    if (n === null) bucketsFailed.push({ key, reason: r.kind === 'records' ? 'value is not an integer' : describe(r) });
    else values.set(key, n);
  });
  return { values, bucketsFailed };
}

/** Per-group series of `bins` columns over the window, for sparklines. */
function sparkOf(buckets: readonly WeightedBucket[], values: ReadonlyMap<string, number>, now: number, window: number, bins: number): Map<string, number[]> {
  const spark = new Map<string, number[]>();
  const floor = now - window;
  const width = window / bins;
  for (const b of buckets) {
    const v = values.get(b.key.key);
    if (v === undefined) continue;
    const series = spark.get(b.key.group) ?? new Array<number>(bins).fill(0);
    const bin = Math.min(bins - 1, Math.max(0, Math.floor((b.key.start - floor) / width)));
    series[bin]! += v * b.weight;
    spark.set(b.key.group, series);
  }
  return spark;
}

/** One zone: list → parse keys → select buckets → fetch values → sum. */
async function totalZone(spec: FieldSpec[], zone: string, o: Options, lookups: Lookups, now: number): Promise<ZonePart> {
  const listed = await listKeys(spec, zone, o, lookups);
  const parsed = parseKeys(listed.keys, spec, o.delimiter, o.fieldCount);
  const buckets = selectBuckets(parsed.keys, now, o);
  const fetched = listed.values
    ? { values: listed.values, bucketsFailed: [] }
    : await fetchValues(
        [...buckets.main, ...buckets.recent].map((b) => b.key.key),
        zone,
        o,
        lookups,
      );
  return {
    sums: sumGroups(buckets.main, fetched.values),
    recent: sumGroups(buckets.recent, fetched.values),
    spark: o.sparkBins ? sparkOf(buckets.main, fetched.values, now, o.window, o.sparkBins) : new Map<string, number[]>(),
    keysListed: listed.keys.length,
    keysSkipped: parsed.skipped,
    bucketsFailed: [...listed.bucketsFailed, ...fetched.bucketsFailed],
  };
}

export function makeLookups(o: Pick<TotalOptions, 'nameservers' | 'timeoutMs' | 'tries' | 'debug'>): Lookups {
  const servers = o.nameservers?.length ? o.nameservers.map(parseNameserver) : systemNameservers();
  return new Lookups(new DnsClient({ servers, timeoutMs: o.timeoutMs ?? 2000, tries: o.tries ?? 3, ...(o.debug ? { trace: o.debug } : {}) }));
}

async function zonesOf(fanout: string, lookups: Lookups, debug?: (l: string) => void): Promise<string[]> {
  const r = await lookups.ptr(nameOf([], fanout).labels, `${fanout} PTR`);
  if (r.kind === 'records') return r.records.map((rec) => rec[0]!.toString('latin1')).sort();
  // No PTR records: the name is a zone itself. An rkvdns apex answers PTR with FORMERR (CONFORMANCE off),
  // which a resolver turns into SERVFAIL, so a failed lookup means the same; the listing reports real trouble.
  if (r.kind === 'failed') debug?.(`${fanout} PTR: ${r.reason}; using ${fanout} as the zone`);
  return [fanout];
}

export async function total(specIn: ReadonlyArray<string | null | FieldSpec>, options: TotalOptions): Promise<TotalResult> {
  const spec = specIn.map(fieldSpec);
  validateSpec(spec);
  if (!(options.window > 0)) throw new TotalError(`window must be a positive number of seconds, got ${options.window}`);
  const o = { delimiter: ';', concurrency: 64, ...options };
  const lookups = o.lookups ?? makeLookups(o);
  const queriesBefore = lookups.queries;
  const hitsBefore = lookups.hits;
  const now = o.now ?? Date.now() / 1000;
  const zones = o.fanout ? await zonesOf(o.fanout, lookups, o.debug) : [o.zone];
  const parts = await Promise.all(zones.map((z) => totalZone(spec, z, o, lookups, now)));
  const sums = new Map<string, number>();
  const recent = new Map<string, number>();
  const spark = new Map<string, number[]>();
  for (const p of parts) {
    for (const [g, v] of p.sums) sums.set(g, (sums.get(g) ?? 0) + v);
    for (const [g, v] of p.recent) recent.set(g, (recent.get(g) ?? 0) + v);
    for (const [g, s] of p.spark)
      spark.set(
        g,
        (spark.get(g) ?? new Array<number>(s.length).fill(0)).map((x, i) => x + s[i]!),
      );
  }
  const groups: GroupResult[] = [...sums].map(([group, sum]) => ({
    group,
    fields: group.split(o.delimiter),
    count: Math.round(sum),
    ...(o.trend ? { trend: Math.round(trendOf(sum, recent.get(group) ?? 0) * 100) / 100 } : {}),
    ...(o.sparkBins ? { spark: spark.get(group) ?? new Array<number>(o.sparkBins).fill(0) } : {}),
  }));
  groups.sort((a, b) => b.count - a.count || (a.group < b.group ? -1 : 1));
  return {
    groups,
    diagnostics: {
      zones,
      queries: lookups.queries - queriesBefore,
      cacheHits: lookups.hits - hitsBefore,
      keysListed: parts.reduce((a, p) => a + p.keysListed, 0),
      keysSkipped: parts.flatMap((p) => p.keysSkipped),
      bucketsFailed: parts.flatMap((p) => p.bucketsFailed),
    },
  };
}
