/**
 * Listing a totalizer's keys (or shget tuples) however large it is, through rkvdns directly or through any
 * caching resolver. One query when one answer holds it, as upstream does. When that fails (or times out), a
 * `0of1.<glob>.klen` probe tells whether the server pages listings (it answers a count, or `>MAX_KEYS`): then
 * the listing is fetched in partitions `<i>of<n>.<pattern>.<op>`. What size of page the path accepts is
 * learned on one page first: rkvdns itself takes about 800 keys (its MAX_TCP_PAYLOAD), but resolvers may refuse
 * RRsets of more than 100 records (BIND) or 256 (PowerDNS Recursor) with SERVFAIL. While that first page is
 * refused it is made smaller (at once to a size every known resolver passes, when the answers come through a
 * resolver), and the other pages are then asked at the size that passed; one still refused is split in its two
 * halves. A server without partitions gets the glob split by the next character instead (`P*S` becomes
 * `P<c>*S` for every byte c, plus `PS`), recursively, with keys de-duplicated, and the values are then fetched
 * with GET. A listing that cannot be had is an error that says what was tried and why it likely failed, never
 * a partial total.
 */
import { isGlobMeta } from '../query/glob.js';
import { MAX_PARTITIONS, partitionLabel, splitPartition, type Partition } from '../query/partition.js';
import { listingFailure, type FailedListing } from './diagnose.js';
import { limiter, pool } from './pool.js';
import { answered, describe, type Answer, type Lookup, type Lookups } from './lookup.js';
import { latin1, nameOf } from './names.js';
import type { Progress } from './progress.js';

/** Keys aimed at per page from rkvdns itself: about 50 bytes a record keeps a page well under 60,000 bytes. */
export const PAGE_KEYS = 800;
/**
 * Keys aimed at per page once a resolver refused a larger page. Partition counts are powers of two, so pages
 * average 40 to 80 keys: under BIND's limit of 100 records but for about one page in a hundred, which is split
 * in two when refused.
 */
export const RESOLVER_PAGE_KEYS = 80;
/** A refused page of fewer keys than this is not refused for its size. */
const MIN_PAGE_KEYS = 2;
/**
 * Pages in flight at once, pipelined over a nameserver's few TCP connections (TCP_CONNECTIONS): enough to keep rkvdns
 * or a resolver busy; 32 or 64 measured no faster.
 */
const PAGE_CONCURRENCY = 16;

export interface ListingRequest {
  op: 'keys' | 'shget';
  /** The keys glob or the shget pattern. */
  pattern: string;
  /** The keys glob of the same keys (for counting and for splitting). */
  glob: string;
  zone: string;
  concurrency: number;
  debug?: (line: string) => void;
  /**
   * Takes the records of the listing's op as they come, page by page, instead of the Listing holding them all: a
   * page's records can then be folded and dropped while the next pages are asked. A listing that falls back to
   * `keys` returns those in the Listing as usual.
   */
  sink?: (page: PageRecords) => void;
  /** Told how many keys a paged listing holds, before its pages come (the sink can make room for them). */
  expect?: (keys: number) => void;
  progress?: Progress;
}

/** A page's records, and the answer they are in when they came in one (a reader may decode it its own way). */
export interface PageRecords {
  readonly records: string[][];
  answer?: Answer;
}

const NO_RECORDS: PageRecords = { records: [] };

/** `op` is 'keys' when a shget listing had to fall back to a split keys listing. */
export type Listing = { op: 'keys' | 'shget'; records: string[][] };

/** Only SERVFAIL can mean "too large"; a timeout or a refusal is not made better by asking more. */
function splittable(l: Lookup): boolean {
  return l.kind === 'failed' && l.reason === 'SERVFAIL';
}

function recordsOf(r: Lookup): PageRecords | null {
  if (r.kind === 'records') return r;
  if (r.kind === 'empty') return NO_RECORDS;
  return null;
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Partitions for pages of at most `target` keys on average (at least two: the whole listing was refused). */
export function partitionsFor(count: number, target: number): number {
  return Math.min(MAX_PARTITIONS, Math.max(2, nextPowerOfTwo(Math.ceil(count / target))));
}

/** The next size to try after a page of `refused` keys (on average) was refused. */
export function smallerTarget(refused: number, viaResolver: boolean): number {
  return viaResolver && refused > RESOLVER_PAGE_KEYS ? RESOLVER_PAGE_KEYS : refused / 2;
}

/** The count's tries, in lookups' tries (fetchListing says why). */
const PROBE_TRIES_FACTOR = 2;

/** One listing's walk: what it asked and what it learned, for the debug lines and the error if it fails. */
class Walk {
  readonly tried: string[] = [];
  viaResolver = false;

  constructor(
    private readonly l: Lookups,
    readonly req: ListingRequest,
  ) {}

  /** The whole listing's name, as errors name the listing. */
  get whole(): string {
    return nameOf([this.req.pattern, this.req.op], this.req.zone).display;
  }

  async ask(labels: string[], tcp = false, tries?: number): Promise<{ r: Lookup; got: PageRecords | null; display: string }> {
    const { labels: name, display } = nameOf(labels, this.req.zone);
    const r = await this.l.txt(name, display, tcp, tries);
    if (r.viaResolver) this.viaResolver = true;
    if (r.kind === 'nxdomain') this.fail(`${display}: NXDOMAIN`, { reason: 'NXDOMAIN' });
    return { r, got: recordsOf(r), display };
  }

  fail(step: string | null, f: Omit<FailedListing, 'name' | 'zone' | 'viaResolver' | 'tried'>): never {
    if (step) this.tried.push(step);
    throw listingFailure({ name: this.whole, zone: this.req.zone, viaResolver: this.viaResolver, tried: this.tried, ...f });
  }

  /**
   * Ends the walk on failures that are not for size, with the zone's SOA as evidence of where the fault is:
   * through a resolver, an SOA that fails too points at the resolver's way to rkvdns, one that passes at rkvdns.
   */
  async failNotSize(step: string, reason: string, notSize: string): Promise<never> {
    const zone = this.viaResolver ? await this.zoneAnswer() : undefined;
    return this.fail(step, { reason, notSize, ...(zone ? { zoneAnswered: zone.kind !== 'failed' } : {}) });
  }

  /** The zone's SOA: whether anything answers for the zone on this path (see Lookups.zoneAnswer). */
  zoneAnswer(): Promise<Lookup> {
    const { labels, display } = nameOf([], this.req.zone);
    return this.l.zoneAnswer(labels, `${display} SOA`);
  }

  /**
   * The whole listing, first. If it has not answered within half a timeout, the zone's SOA is asked beside it:
   * when that gets no answer at all either, nothing answers on this path, and the walk ends at once (one
   * timeout, where the listing's own tries and a probe would take several) with the likely causes.
   */
  async first(): Promise<{ r: Lookup; got: PageRecords | null; display: string }> {
    const whole = this.ask([this.req.pattern, this.req.op]);
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<Lookup>((resolve) => {
      timer = setTimeout(() => void this.zoneAnswer().then((z) => !answered(z) && resolve(z)), this.l.timeoutMs / 2);
    });
    const first = await Promise.race([whole, silent.then((z) => ({ silent: z }))]);
    clearTimeout(timer);
    if ('silent' in first) this.fail(`${this.whole} and ${nameOf([], this.req.zone).display} SOA: no answer`, { reason: describe(first.silent) });
    return first;
  }
}

const about = (keys: number) => (keys >= 10 ? String(Math.round(keys)) : keys.toFixed(1));

type Page = { records: PageRecords } | { refused: Lookup; keys: number; step: string; display: string };

/**
 * Asks one page over TCP. A refusal comes back with the page's estimated size; one that smaller pages cannot
 * mend (not SERVFAIL, or a page already too small or not splittable) ends the walk here.
 */
async function askPage(w: Walk, count: number, p: Partition): Promise<Page> {
  const { r, got, display } = await w.ask([partitionLabel(p), w.req.pattern, w.req.op], true);
  if (got) return { records: got };
  const keys = count / p.count;
  const step = `page ${partitionLabel(p)} of about ${about(keys)} keys: ${describe(r)}`;
  if (!splittable(r)) w.fail(step, { reason: describe(r) });
  if (keys < MIN_PAGE_KEYS || p.count >= MAX_PARTITIONS) await w.failNotSize(step, describe(r), `pages of about ${about(keys)} keys were refused too`);
  return { refused: r, keys, step, display };
}

/** Asks pages of the first partition, smaller while refused, until one passes; returns its size and records. */
async function firstPage(w: Walk, count: number): Promise<{ n: number; records: PageRecords }> {
  let target = PAGE_KEYS;
  for (;;) {
    const n = partitionsFor(count, target);
    const page = await askPage(w, count, { index: 0, count: n });
    if ('records' in page) return { n, records: page.records };
    w.tried.push(page.step);
    target = smallerTarget(page.keys, w.viaResolver);
    w.req.debug?.(
      `${page.display} refused (${describe(page.refused)}${w.viaResolver ? ' through a resolver' : ''}); trying pages of at most ${about(target)} keys`,
    );
  }
}

async function byPartitions(w: Walk, count: number): Promise<string[][]> {
  const req = w.req;
  req.debug?.(`${req.pattern}.${req.op}: ${count} keys, too many for one answer; paging in ${partitionsFor(count, PAGE_KEYS)} partitions`);
  req.expect?.(count);
  const first = await firstPage(w, count);
  const n = first.n;
  const records: string[][] = [];
  const sink = req.sink ?? ((page: PageRecords) => void records.push(...page.records));
  let keys = 0;
  let failed = 0;
  let answered = 1;
  const take = (page: PageRecords) => {
    sink(page);
    // Counted from the answer when there is one: the records themselves may never be decoded as text.
    keys += page.answer?.records.count ?? page.records.length;
    // A page split in two halves is two answers for one page.
    req.progress?.pages?.(`${req.pattern}.${req.op}`, Math.min(answered, n), n, keys);
  };
  take(first.records);
  const maxFailed = Math.max(8, n);
  const page = async (p: Partition): Promise<void> => {
    const got = await askPage(w, count, p);
    if ('records' in got) {
      answered++;
      take(got.records);
      return;
    }
    // Pages near the size that passed are often a little over it and pass as halves; more failures than
    // pages is something else (Redis gone mid-walk), and stops the walk before it multiplies.
    if (++failed > maxFailed) w.fail(got.step, { reason: describe(got.refused), scattered: { failed, answered } });
    req.debug?.(`${got.display} refused (${describe(got.refused)}); asking its two halves`);
    await Promise.all(splitPartition(p)!.map(page));
  };
  const rest = Array.from({ length: n - 1 }, (_, i) => ({ index: i + 1, count: n }));
  await pool(rest, Math.min(req.concurrency, PAGE_CONCURRENCY), page);
  req.debug?.(`${req.pattern}.${req.op}: ${answered} pages of ${n} partitions${failed ? `, ${failed} refused and split in two` : ''}`);
  return records;
}

/** Index of the first `*` not escaped by a backslash, or -1. */
function firstStar(glob: Buffer): number {
  for (let i = 0; i < glob.length; i++) {
    if (glob[i] === 0x5c) i++;
    else if (glob[i] === 0x2a) return i;
  }
  return -1;
}

/** The globs that together match what `glob` matches: `P*S` → `PS` and `P<c>*S` for every byte c. */
export function splitGlob(glob: Buffer): Buffer[] | null {
  const star = firstStar(glob);
  if (star < 0) return null;
  const before = glob.subarray(0, star);
  const after = glob.subarray(star + 1);
  const out = [Buffer.concat([before, after])];
  for (let c = 0; c < 256; c++) {
    const literal = isGlobMeta(c) ? Buffer.from([0x5c, c]) : Buffer.from([c]);
    out.push(Buffer.concat([before, literal, glob.subarray(star)]));
  }
  return out;
}

/** A split listing that needs more queries than this is given up: a SERVFAIL storm, not a big listing. */
const MAX_SPLIT_QUERIES = 50_000;

async function bySplitting(w: Walk): Promise<string[][]> {
  const req = w.req;
  const keys = new Map<string, string[]>();
  const limit = limiter(req.concurrency);
  let queries = 0;
  const ask = async (glob: Buffer): Promise<{ glob: Buffer; r: Lookup; got: PageRecords | null; display: string }> => {
    if (++queries > MAX_SPLIT_QUERIES)
      w.fail(`splitting by the next character: more than ${MAX_SPLIT_QUERIES} queries`, {
        reason: 'SERVFAIL',
        notSize: 'narrower and narrower globs kept failing',
      });
    const a = await limit(() => w.ask([glob.toString('latin1'), 'keys']));
    // `PS` and `P<c>*S` can match the same key; each key is kept once.
    if (a.got) for (const rec of a.got.records) keys.set(rec[0]!, rec);
    return { glob, ...a };
  };
  /** Lists what a failed glob matches through its narrower globs, and theirs where they fail too. */
  const narrow = async (failed: { glob: Buffer; r: Lookup; display: string }): Promise<void> => {
    const step = `${failed.display}: ${describe(failed.r)}`;
    const parts = splittable(failed.r) && failed.glob.length < 255 ? splitGlob(failed.glob) : null;
    if (!parts) w.fail(step, { reason: describe(failed.r) });
    const answers = await Promise.all(parts.map(ask));
    const still = answers.filter((a) => !a.got);
    // Too large shrinks as globs narrow; a failure that every narrower glob shares is something else.
    if (still.length === answers.length)
      await w.failNotSize(`${step}, and so did all ${answers.length} narrower globs`, describe(failed.r), 'every narrower glob was refused too');
    await Promise.all(still.map(narrow));
  };
  const top = await ask(latin1(req.glob));
  if (!top.got) await narrow(top);
  req.debug?.(`${req.glob}.keys: listed by splitting in ${queries} queries, ${keys.size} keys`);
  return [...keys.values()];
}

/** The listing of the request's op, its records given to the sink when there is one. */
function sunk(req: ListingRequest, page: PageRecords): Listing {
  if (!req.sink) return { op: req.op, records: page.records };
  req.sink(page);
  return { op: req.op, records: [] };
}

export async function fetchListing(l: Lookups, req: ListingRequest): Promise<Listing> {
  const w = new Walk(l, req);
  const whole = await w.first();
  if (whole.got) return sunk(req, whole.got);
  w.tried.push(`the whole listing: ${describe(whole.r)}`);
  // Nothing answered the listing: unless something answers for the zone at all, asking more is waiting more.
  if (!answered(whole.r) && !answered(await w.zoneAnswer())) w.fail(`the zone's SOA: no answer`, { reason: describe(whole.r) });
  // Too large, or too slow to list whole (a timeout): a server that pages listings answers the probe.
  req.progress?.pages?.(`${req.pattern}.${req.op}`, 0, 0, 0);
  // The count waits for rkvdns to scan every key of the pattern: seconds for millions. A resolver drops its reply to a
  // try older than its discard-timeout (unbound: 1.9 s) and gives it to the next try, so the count gets twice the tries.
  const probeTries = PROBE_TRIES_FACTOR * l.tries;
  const probe = await w.ask(['0of1', req.glob, 'klen'], false, probeTries);
  // No answer at all, where the listing was answered at once: a server that pages, still scanning. Splitting the glob
  // would ask it for hundreds of narrower listings, a scan of the whole keyspace each.
  if (probe.r.kind === 'failed' && probe.r.timedOut)
    w.fail(`the count ${probe.display}: ${describe(probe.r)}`, { reason: describe(whole.r), countTimedOut: { tries: probeTries, timeoutMs: l.timeoutMs } });
  const count = probe.r.kind === 'records' ? probe.r.records[0]?.[0] : undefined;
  const overMax = count === undefined ? null : /^>(\d+)$/.exec(count);
  if (overMax) w.fail(`the count ${probe.display}: more than MAX_KEYS (${overMax[1]})`, { reason: describe(whole.r), overMaxKeys: Number(overMax[1]) });
  if (count !== undefined && /^\d+$/.test(count)) {
    w.tried.push(`the count ${probe.display}: ${count} keys`);
    return sunk(req, { records: await byPartitions(w, Number(count)) });
  }
  // From rkvdns itself, a server without paging answers the count FORMERR; SERVFAIL is a server that pages
  // but cannot count now (Redis). Through a resolver both are SERVFAIL, so only splitting can tell.
  if (!w.viaResolver && splittable(probe.r)) await w.failNotSize(`the count ${probe.display}: SERVFAIL`, describe(whole.r), 'the count of the keys failed too');
  w.tried.push(`the count ${probe.display}: ${describe(probe.r)} (no paging)`);
  if (!splittable(whole.r)) w.fail(null, { reason: describe(whole.r) });
  req.debug?.(
    `${whole.display} failed (${describe(whole.r)}) and the server does not page listings (${probe.display}: ${describe(probe.r)}); ` +
      `splitting ${req.glob} by the next character${req.op === 'shget' ? ' and fetching values with GET' : ''}`,
  );
  return { op: 'keys', records: await bySplitting(w) };
}
