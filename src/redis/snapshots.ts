/**
 * Key snapshots for partitioned listings. A client pages through a large pattern with many
 * `<i>of<n>.<pattern>.<op>` queries in a row; each needs the keys of one partition, but SCAN can only
 * enumerate them all. So the keys of a pattern are scanned once, bucketed by hash (a counting sort on the
 * top 16 hash bits, linear in the number of keys) and packed into one buffer, and every partition query
 * within SNAPSHOT_MS takes its slice from there. Values are always read fresh; only the list of keys is
 * reused. Partitions depend on the key alone, so pages served from different snapshots still never
 * repeat a key.
 */
import { PARTITION_BITS, bucketOf, bucketRange, type Partition } from '../query/partition.js';
import type { Store } from './store.js';

export const SNAPSHOT_MS = 5000;
const BUCKETS = 1 << PARTITION_BITS;

interface Snapshot {
  /** All keys, concatenated in bucket order. */
  data: Buffer;
  /** Key i is data[offsets[i], offsets[i + 1]). */
  offsets: Uint32Array | Float64Array;
  /** Keys of bucket b are [bucketStart[b], bucketStart[b + 1]). */
  bucketStart: Uint32Array;
}

function pack(keys: readonly Buffer[]): Snapshot {
  const buckets = new Uint32Array(keys.length);
  const bucketStart = new Uint32Array(BUCKETS + 1);
  let bytes = 0;
  for (let i = 0; i < keys.length; i++) {
    const b = bucketOf(keys[i]!);
    buckets[i] = b;
    bucketStart[b + 1]!++;
    bytes += keys[i]!.length;
  }
  for (let b = 0; b < BUCKETS; b++) bucketStart[b + 1]! += bucketStart[b]!;
  const place = bucketStart.slice(0, BUCKETS);
  const order = new Uint32Array(keys.length);
  for (let i = 0; i < keys.length; i++) order[place[buckets[i]!]!++] = i;
  const data = Buffer.allocUnsafe(bytes);
  const offsets = bytes < 2 ** 32 ? new Uint32Array(keys.length + 1) : new Float64Array(keys.length + 1);
  let at = 0;
  for (let j = 0; j < order.length; j++) {
    const k = keys[order[j]!]!;
    k.copy(data, at);
    at += k.length;
    offsets[j + 1] = at;
  }
  return { data, offsets, bucketStart };
}

export class KeySnapshots {
  private readonly held = new Map<string, { snapshot: Promise<Snapshot>; expires: number }>();

  constructor(
    private readonly maxSnapshots = 8,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.held.size;
  }

  /** The keys matching `glob` that fall in partition `part`. */
  async partition(store: Store, glob: Buffer, maxKeys: number, part: Partition): Promise<Buffer[]> {
    const s = await this.snapshot(store, glob, maxKeys);
    const [first, end] = bucketRange(part);
    const keys: Buffer[] = [];
    for (let i = s.bucketStart[first]!; i < s.bucketStart[end]!; i++) keys.push(s.data.subarray(s.offsets[i]!, s.offsets[i + 1]!));
    return keys;
  }

  /** Drops expired snapshots so their memory goes back as soon as paging stops. */
  prune(t = this.now()): void {
    for (const [id, h] of this.held) if (h.expires <= t) this.held.delete(id);
  }

  private snapshot(store: Store, glob: Buffer, maxKeys: number): Promise<Snapshot> {
    const t = this.now();
    const id = `${maxKeys}\0${glob.toString('latin1')}`;
    const h = this.held.get(id);
    if (h && h.expires > t) return h.snapshot;
    this.prune(t);
    while (this.held.size >= this.maxSnapshots) this.held.delete(this.held.keys().next().value!);
    const snapshot = store.scan(glob, maxKeys).then(pack);
    const entry = { snapshot, expires: t + SNAPSHOT_MS };
    this.held.set(id, entry);
    // A failed scan (Redis away, too many keys) is not reused: the next query tries again.
    snapshot.catch(() => {
      if (this.held.get(id) === entry) this.held.delete(id);
    });
    return snapshot;
  }
}
