/**
 * Listing a totalizer's keys (or shget tuples) however large it is. One query when one answer holds it,
 * as upstream does. When that fails (or times out), a `0of1.<glob>.klen` probe tells whether the server
 * pages listings (it answers a count): then the listing is fetched in partitions `<i>of<n>.<pattern>.<op>`,
 * sized from the count, and a partition still too large is split in its two halves. A server without partitions
 * gets the glob split by the next character instead (`P*S` becomes `P<c>*S` for every byte c, plus `PS`),
 * recursively, with keys de-duplicated, and the values are then fetched with GET.
 */
import { MAX_PARTITIONS, partitionLabel, splitPartition, type Partition } from '../query/partition.js';
import { TotalError } from './errors.js';
import { limiter, pool } from './pool.js';
import { describe, type Lookup, type Lookups } from './lookup.js';

/** Keys aimed at per partition page: about 50 bytes a record keeps a page well under 60,000 bytes. */
const PAGE_KEYS = 800;
/** Pages in flight at once: each is a TCP connection, and resolvers accept few at a time (unbound: 10). */
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
}

/** `op` is 'keys' when a shget listing had to fall back to a split keys listing. */
export type Listing = { op: 'keys' | 'shget'; records: Buffer[][] };

const latin1 = (s: string) => Buffer.from(s, 'latin1');

/** Only SERVFAIL can mean "too large"; a timeout or a refusal is not made better by asking more. */
function splittable(l: Lookup): boolean {
  return l.kind === 'failed' && l.reason === 'SERVFAIL';
}

function nameOf(labels: string[], zone: string): { labels: Buffer[]; display: string } {
  return { labels: [...labels, ...zone.split('.').filter(Boolean)].map(latin1), display: `${labels.join('.')}.${zone}` };
}

function recordsOf(r: Lookup, display: string): Buffer[][] | null {
  if (r.kind === 'records') return r.records;
  if (r.kind === 'empty') return [];
  if (r.kind === 'nxdomain') throw new TotalError(`listing ${display} failed: NXDOMAIN`);
  return null;
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

async function byPartitions(l: Lookups, req: ListingRequest, count: number): Promise<Buffer[][]> {
  const n = Math.min(MAX_PARTITIONS, Math.max(2, nextPowerOfTwo(Math.ceil(count / PAGE_KEYS))));
  req.debug?.(`${req.pattern}.${req.op}: ${count} keys, too many for one answer; paging in ${n} partitions`);
  const records: Buffer[][] = [];
  let splits = 0;
  let answered = 0;
  const page = async (p: Partition): Promise<void> => {
    const { labels, display } = nameOf([partitionLabel(p), req.pattern, req.op], req.zone);
    const r = await l.txt(labels, display, true);
    const got = recordsOf(r, display);
    if (got) {
      answered++;
      for (const rec of got) records.push(rec);
      return;
    }
    const halves = splittable(r) ? splitPartition(p) : null;
    if (!halves) throw new TotalError(`listing ${display} failed: ${describe(r)}`);
    // Pages several times larger than estimated are split; every page failing (Redis gone) is not size.
    if (++splits > 4 * n || (splits >= n && answered === 0)) throw new TotalError(`listing ${display} failed: ${describe(r)}, and ${splits - 1} smaller pages failed before it`);
    await Promise.all(halves.map(page));
  };
  await pool(Array.from({ length: n }, (_, index) => ({ index, count: n })), Math.min(req.concurrency, PAGE_CONCURRENCY), page);
  if (splits > 0) req.debug?.(`${req.pattern}.${req.op}: ${splits} partition(s) were still too large and were split in two`);
  return records;
}

const GLOB_META = new Set([0x2a, 0x3f, 0x5b, 0x5d, 0x5c]);

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
    const literal = GLOB_META.has(c) ? Buffer.from([0x5c, c]) : Buffer.from([c]);
    out.push(Buffer.concat([before, literal, glob.subarray(star)]));
  }
  return out;
}

/** A split listing that needs more queries than this is given up: a SERVFAIL storm, not a big listing. */
const MAX_SPLIT_QUERIES = 50_000;

async function bySplitting(l: Lookups, req: ListingRequest): Promise<Buffer[][]> {
  const keys = new Map<string, Buffer[]>();
  const limit = limiter(req.concurrency);
  let queries = 0;
  const ask = async (glob: Buffer): Promise<{ glob: Buffer; r: Lookup; got: Buffer[][] | null }> => {
    const { labels, display } = nameOf([glob.toString('latin1'), 'keys'], req.zone);
    if (++queries > MAX_SPLIT_QUERIES) throw new TotalError(`listing ${req.glob}.keys.${req.zone} by splitting needs more than ${MAX_SPLIT_QUERIES} queries`);
    const r = await limit(() => l.txt(labels, display));
    const got = recordsOf(r, display);
    // `PS` and `P<c>*S` can match the same key; each key is kept once.
    if (got) for (const rec of got) keys.set(rec[0]!.toString('latin1'), rec);
    return { glob, r, got };
  };
  /** Lists what a failed glob matches through its narrower globs, and theirs where they fail too. */
  const narrow = async (failed: { glob: Buffer; r: Lookup }): Promise<void> => {
    const { display } = nameOf([failed.glob.toString('latin1'), 'keys'], req.zone);
    const parts = splittable(failed.r) && failed.glob.length < 255 ? splitGlob(failed.glob) : null;
    if (!parts) throw new TotalError(`listing ${display} failed: ${describe(failed.r)}`);
    const answers = await Promise.all(parts.map(ask));
    const still = answers.filter((a) => !a.got);
    // Too large shrinks as globs narrow; a failure that every narrower glob shares is something else.
    if (still.length === answers.length) throw new TotalError(`listing ${display} failed: ${describe(failed.r)}, and so did every narrower listing`);
    await Promise.all(still.map(narrow));
  };
  const top = await ask(latin1(req.glob));
  if (!top.got) await narrow(top);
  req.debug?.(`${req.glob}.keys: listed by splitting in ${queries} queries, ${keys.size} keys`);
  return [...keys.values()];
}

export async function fetchListing(l: Lookups, req: ListingRequest): Promise<Listing> {
  const whole = nameOf([req.pattern, req.op], req.zone);
  const r = await l.txt(whole.labels, whole.display);
  const got = recordsOf(r, whole.display);
  if (got) return { op: req.op, records: got };
  // Too large, or too slow to list whole (a timeout): a server that pages listings answers the probe.
  const probe = nameOf(['0of1', req.glob, 'klen'], req.zone);
  const p = await l.txt(probe.labels, probe.display);
  const count = p.kind === 'records' ? p.records[0]?.[0]?.toString('latin1') : undefined;
  if (count !== undefined && /^\d+$/.test(count)) return { op: req.op, records: await byPartitions(l, req, Number(count)) };
  if (!splittable(r)) throw new TotalError(`listing ${whole.display} failed: ${describe(r)}`);
  req.debug?.(
    `${whole.display} failed (${describe(r)}) and the server does not page listings (${probe.display}: ${describe(p)}); ` +
      `splitting ${req.glob} by the next character${req.op === 'shget' ? ' and fetching values with GET' : ''}`,
  );
  return { op: 'keys', records: await bySplitting(l, req) };
}
