/**
 * Key snapshots for partitioned listings. A client pages through a large pattern with many
 * `<i>of<n>.<pattern>.<op>` queries in a row; each needs the keys of one partition, but SCAN can only
 * enumerate them all. So the keys of a pattern are scanned once, bucketed by hash (a counting sort on the
 * top 16 hash bits, linear in the number of keys) and packed into one buffer, and every partition query
 * while the snapshot lives (10 s, or DEFAULT_TTL when longer) takes its slice from there. A whole listing
 * always scans afresh and, when it is big, leaves its scan here for the pages that follow. Only the list of
 * keys is reused, and the values a shget's scan read (below). Partitions depend on the key alone, so pages served
 * from different snapshots still never repeat a key. A whole listing too large for one answer is refused from
 * its held snapshot without scanning again.
 *
 * A scan for a listing of values (shget) also reads the values of its keys as it goes, once it has more keys than
 * one small answer (scan-values.ts), and packs them beside the keys. A page may answer from them while they are young
 * enough (the caller says how young); its answer's TTL is then shortened by their age, so what a resolver holds
 * is never older than an answer read fresh would be. Older, the page reads its values from Redis.
 */
import { PARTITION_BITS, bucketOf, bucketRange, type Partition } from '../query/partition.js';
import type { KeyReader } from './reader.js';
import { ValueReads, type ValueRun } from './scan-values.js';

/**
 * The shortest life of a snapshot, counted from the end of its scan: long enough for a whole listing to be
 * refused and its pages walked. rkvdns uses DEFAULT_TTL when longer: a page is then no older than a whole
 * listing a resolver may still hold in its cache.
 */
export const SNAPSHOT_MS = 10_000;
const BUCKETS = 1 << PARTITION_BITS;
/** A whole listing with fewer keys fits one answer, so no pages follow: its scan is not held. */
const HOLD_MIN_KEYS = 1000;

interface Snapshot {
  /** All keys, concatenated in bucket order. */
  data: Buffer;
  /** Key i is data[offsets[i], offsets[i + 1]). */
  offsets: Uint32Array | Float64Array;
  /** Keys of bucket b are [bucketStart[b], bucketStart[b + 1]). */
  bucketStart: Uint32Array;
  /** The keys' values as the scan read them, in the same order, when it did. */
  values: PackedValues | null;
}

/** The keys' values in the same order as the keys, and when the first of them was asked (none is older). */
interface PackedValues {
  run: ValueRun;
  since: number;
}

/** A partition's keys, and their values when the snapshot has them young enough (null: read them from Redis). */
export interface SnapshotPage {
  keys: Buffer[];
  values: ValueRun | null;
  /** How old the values are: the time since the first of them was asked. */
  ageMs: number;
}

function pack(keys: readonly Buffer[], read: PackedValues | null): Snapshot {
  const buckets = new Uint32Array(keys.length);
  const bucketStart = new Uint32Array(BUCKETS + 1);
  // Bytes per bucket first, so that each key can then be copied straight to its place, the keys read in the order
  // the scan gave them: read in bucket order, a million Buffers scattered over the heap cost a cache miss each.
  const bucketBytes = new Float64Array(BUCKETS + 1);
  for (let i = 0; i < keys.length; i++) {
    const b = bucketOf(keys[i]!);
    buckets[i] = b;
    bucketStart[b + 1]!++;
    bucketBytes[b + 1]! += keys[i]!.length;
  }
  for (let b = 0; b < BUCKETS; b++) {
    bucketStart[b + 1]! += bucketStart[b]!;
    bucketBytes[b + 1]! += bucketBytes[b]!;
  }
  const bytes = bucketBytes[BUCKETS]!;
  const place = bucketStart.slice(0, BUCKETS);
  const data = Buffer.allocUnsafe(bytes);
  const offsets = bytes < 2 ** 32 ? new Uint32Array(keys.length + 1) : new Float64Array(keys.length + 1);
  // Where each key went: its value goes to the same place.
  const placed = read ? new Uint32Array(keys.length) : null;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const b = buckets[i]!;
    const at = bucketBytes[b]!;
    // A loop: for a key of a few dozen bytes, cheaper than a native copy.
    for (let j = 0; j < k.length; j++) data[at + j] = k[j]!;
    if (placed) placed[i] = place[b]!;
    offsets[place[b]!++] = at;
    bucketBytes[b] = at + k.length;
  }
  offsets[keys.length] = bytes;
  return { data, offsets, bucketStart, values: read && placed ? packValues(read, placed) : null };
}

/**
 * The values in the keys' packed order: value i's place is where key i went (`placed[i]`). Only where each value lies
 * is reordered; the bytes stay where the scan's reads put them.
 */
function packValues(read: PackedValues, placed: Uint32Array): PackedValues {
  const n = placed.length;
  const start = new Uint32Array(n);
  const length = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    start[placed[i]!] = read.run.start[i]!;
    length[placed[i]!] = read.run.length[i]!;
  }
  return { run: { data: read.run.data, start, length }, since: read.since };
}

/** The keys of partition `part`, each a view of the snapshot's bytes. */
function keysOf(s: Snapshot, part: Partition): Buffer[] {
  const [first, end] = bucketRange(part);
  const keys: Buffer[] = [];
  for (let i = s.bucketStart[first]!; i < s.bucketStart[end]!; i++) keys.push(s.data.subarray(s.offsets[i], s.offsets[i + 1]));
  return keys;
}

interface Held {
  /** Packed as soon as the scan ends: the scan's own Buffers (a million objects) are not kept. */
  packed: Promise<Snapshot>;
  expires: number;
  /** The scan's keys; resolves once whether to hold them is decided. */
  keys: Promise<Buffer[]>;
  /** Keys the scan has found so far, and who wants to know as the count grows. */
  found: number;
  /** How many keys the scan found, once it ended. */
  total?: number;
  watchers: Set<(found: number) => void>;
}

/** A whole listing refused while its scan still ran: more keys than one answer could hold had turned up. */
export class ScanOutgrewAnswer extends Error {}

export class KeySnapshots {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly lifetimeMs = SNAPSHOT_MS,
    private readonly maxSnapshots = 8,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.held.size;
  }

  /**
   * A fresh scan, for a whole listing (answers stay as fresh as upstream's; one already running for the pattern
   * is joined). It is kept as the pattern's snapshot, so when the whole answer turns out too large, the probe and
   * pages that follow need no scan. With `fitsAnswer`, the listing fails with ScanOutgrewAnswer as soon as more
   * keys than that have turned up, while the scan goes on for the pages: a million-key pattern is refused in
   * milliseconds, not after seconds of scanning (past a client's timeout, whose retries would each scan again).
   * `withValues` (a listing of values): once the listing is sure not to fit, the scan reads its keys' values too.
   */
  fresh(reader: KeyReader, glob: Buffer, maxKeys: number, fitsAnswer?: number, withValues = false): Promise<Buffer[]> {
    const h = this.held.get(idOf(glob, maxKeys));
    // A held scan that ended with more keys than one answer holds refuses the listing without another scan: its
    // pages are being walked (or were, within DEFAULT_TTL), and a resolver may answer them from its cache, so
    // a scan that only ends in the same refusal would cost Redis and rkvdns seconds for nothing.
    if (fitsAnswer !== undefined && h?.total !== undefined && h.total > fitsAnswer && h.expires > this.now())
      return Promise.reject(new ScanOutgrewAnswer(`more than ${fitsAnswer} keys cannot fit one answer (${h.total} at the last scan)`));
    // Pages follow only a listing refused for size; one that fits reads its own values.
    const valuesPast = withValues ? Math.max(HOLD_MIN_KEYS, fitsAnswer ?? 0) : null;
    const entry = h && h.expires === Infinity ? h : this.start(reader, glob, maxKeys, HOLD_MIN_KEYS, valuesPast);
    if (fitsAnswer === undefined) return entry.keys;
    return new Promise((resolve, reject) => {
      const watch = (found: number) => {
        if (found <= fitsAnswer) return;
        entry.watchers.delete(watch);
        reject(new ScanOutgrewAnswer(`more than ${fitsAnswer} keys cannot fit one answer`));
      };
      entry.watchers.add(watch);
      watch(entry.found);
      entry.keys.then(resolve, reject).finally(() => entry.watchers.delete(watch));
    });
  }

  /** The keys matching `glob` that fall in partition `part`. */
  async partition(reader: KeyReader, glob: Buffer, maxKeys: number, part: Partition): Promise<Buffer[]> {
    return keysOf(await this.packed(reader, glob, maxKeys), part);
  }

  /**
   * The keys of partition `part`, and their values when the snapshot read them less than `maxAgeMs` ago (a scan
   * started here reads them).
   */
  async page(reader: KeyReader, glob: Buffer, maxKeys: number, part: Partition, maxAgeMs: number): Promise<SnapshotPage> {
    const s = await this.packed(reader, glob, maxKeys, true);
    const keys = keysOf(s, part);
    const v = s.values;
    const ageMs = v ? this.now() - v.since : Infinity;
    if (!v || ageMs > maxAgeMs) return { keys, values: null, ageMs };
    const [first, end] = bucketRange(part);
    const [from, to] = [s.bucketStart[first]!, s.bucketStart[end]!];
    return { keys, values: { data: v.run.data, start: v.run.start.subarray(from, to), length: v.run.length.subarray(from, to) }, ageMs };
  }

  /** How many keys matching `glob` fall in partition `part`. */
  async count(reader: KeyReader, glob: Buffer, maxKeys: number, part: Partition): Promise<number> {
    const s = await this.packed(reader, glob, maxKeys);
    const [first, end] = bucketRange(part);
    return s.bucketStart[end]! - s.bucketStart[first]!;
  }

  /** Drops expired snapshots so their memory goes back as soon as paging stops. */
  prune(t = this.now()): void {
    for (const [id, h] of this.held) if (h.expires <= t) this.held.delete(id);
  }

  private packed(reader: KeyReader, glob: Buffer, maxKeys: number, withValues = false): Promise<Snapshot> {
    const h = this.held.get(idOf(glob, maxKeys));
    if (h && h.expires > this.now()) return h.packed;
    const started = this.start(reader, glob, maxKeys, 0, withValues ? HOLD_MIN_KEYS : null);
    started.keys.catch(() => undefined);
    // Nobody may wait for the keys themselves; a failed scan is told through `packed`.
    return started.packed;
  }

  /**
   * Scans afresh and holds the result packed (when it has at least `holdMin` keys). `keys` resolves once
   * that is decided, so a small listing never holds a slot past its answer. With `valuesPast`, the values are read
   * too, once the scan has found more keys than that.
   */
  private start(reader: KeyReader, glob: Buffer, maxKeys: number, holdMin: number, valuesPast: number | null): Held {
    const t = this.now();
    const id = idOf(glob, maxKeys);
    this.prune(t);
    this.held.delete(id);
    while (this.held.size >= this.maxSnapshots) this.held.delete(this.held.keys().next().value!);
    // Held while the scan runs, and for its lifetime after it ends (a million keys take seconds to scan).
    const values = valuesPast !== null ? new ScanValueReads(reader, this.now) : null;
    // Its scan and what is made of it are set below: a reader may tell progress before its scan returns.
    const entry = { expires: Infinity, found: 0, watchers: new Set() } as Omit<Held, 'packed' | 'keys'> as Held;
    const progress = (found: readonly Buffer[]) => {
      entry.found = found.length;
      if (values && found.length > valuesPast!) values.ask(found);
      for (const w of entry.watchers) w(found.length);
    };
    const keys = reader.scan(glob, maxKeys, undefined, progress);
    entry.packed = keys.then(async (all) => {
      if (!values || all.length <= valuesPast!) return pack(all, null);
      // What the last SCAN replies brought (or all of them, from a reader that tells no progress).
      values.ask(all);
      return pack(all, await values.done());
    });
    this.held.set(id, entry);
    const settled = entry.packed.then(
      (snapshot) => {
        entry.expires = this.now() + this.lifetimeMs;
        entry.total = snapshot.bucketStart[BUCKETS]!;
        if (snapshot.bucketStart[BUCKETS]! < holdMin && this.held.get(id) === entry) this.held.delete(id);
      },
      // A failed scan (Redis away, too many keys) is not reused: the next query tries again.
      () => {
        if (this.held.get(id) === entry) this.held.delete(id);
      },
    );
    entry.keys = settled.then(() => keys);
    return entry;
  }
}

/**
 * The values of a scan's keys, asked as it finds them. A failed read (or values past MAX_SCAN_VALUE_BYTES) only means
 * the pages read theirs from Redis, as they would without these: the scan itself goes on.
 */
class ScanValueReads {
  private readonly reads: ValueReads;
  private asked = 0;
  private since = 0;
  private failed = false;
  private readonly pending: Promise<void>[] = [];

  constructor(
    reader: KeyReader,
    private readonly now: () => number,
  ) {
    this.reads = new ValueReads(reader, 1024, MAX_SCAN_VALUE_BYTES);
  }

  /** Asks the values of the keys not asked yet (`keys` is the scan's own list, which grows). */
  ask(keys: readonly Buffer[]): void {
    if (this.failed || this.asked >= keys.length) return;
    if (this.asked === 0) this.since = this.now();
    const at = this.asked;
    this.asked = keys.length;
    this.pending.push(this.reads.read(keys.slice(at), at).catch(() => void (this.failed = true)));
  }

  /** Every value asked, once read; null when none was asked or a read failed. */
  async done(): Promise<PackedValues | null> {
    await Promise.all(this.pending);
    return this.failed || this.asked === 0 ? null : { run: this.reads.run, since: this.since };
  }
}

/** Values of one scan past this many bytes are not kept (its pages then read theirs from Redis). */
const MAX_SCAN_VALUE_BYTES = 256 * 1024 * 1024;

function idOf(glob: Buffer, maxKeys: number): string {
  return `${maxKeys}\0${glob.toString('latin1')}`;
}
