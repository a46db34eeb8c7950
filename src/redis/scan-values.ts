/**
 * Values of many keys kept packed: one Buffer of bytes, and where each value starts and how long it is; no object per
 * value. A listing page's values are read so (ValueReads), and so are the values of a scan's keys read while it scans
 * (KeySnapshots): each SCAN reply's new keys are asked with MGET right behind the next SCAN, so Redis finds them
 * while the scan has just been through them. Read later, page by page in hash order, the same values cost Redis
 * about twice as much (a million keys: ~1.6 s of its CPU against 0.6–0.8 s).
 */
import type { KeyReader } from './reader.js';

/** Value i is data[start[i], start[i] + length[i]), or none (a missing key, or one of another type) when length[i] < 0. */
export interface ValueRun {
  data: Buffer;
  start: Uint32Array;
  length: Int32Array;
}

/** Value i of the run as a Buffer (a view of its bytes), or null. */
export function valueAt(run: ValueRun, i: number): Buffer | null {
  const len = run.length[i]!;
  return len < 0 ? null : run.data.subarray(run.start[i], run.start[i]! + len);
}

/** More bytes than this are not read into one run: where a value starts must fit 32 bits. */
const MAX_RUN_BYTES = 2 ** 32 - 1;

export class ValuesTooLarge extends Error {}

/** A run filled by MGETs, each value copied in as its reply is parsed. */
export class ValueReads {
  private data: Buffer;
  private used = 0;
  private start: Uint32Array;
  private length: Int32Array;

  /** `keys`: how many values the run is first sized for (it grows). */
  constructor(
    private readonly reader: Pick<KeyReader, 'mget' | 'mgetInto'> | null,
    keys = 1024,
    private readonly maxBytes = MAX_RUN_BYTES,
  ) {
    this.start = new Uint32Array(keys);
    this.length = new Int32Array(keys);
    this.data = Buffer.allocUnsafe(Math.max(256, 8 * keys));
  }

  get run(): ValueRun {
    return { data: this.data, start: this.start, length: this.length };
  }

  /**
   * Reads the values of `keys` as those of keys `at`, `at + 1`, …; rejects as the read does, or with ValuesTooLarge
   * once the run would pass maxBytes.
   */
  read(keys: readonly Buffer[], at: number): Promise<void> {
    this.room(at + keys.length);
    // Packed as they are parsed where the reader can; else from the Buffers of mget().
    if (this.reader?.mgetInto) return this.reader.mgetInto(keys, (i, b, from, to) => this.put(at + i, b, from, to)).then(() => this.check());
    return this.reader!.mget(keys).then((values) => {
      values.forEach((v, i) => this.put(at + i, v, 0, v ? v.length : 0));
      this.check();
    });
  }

  /** Value i is b[from, to) (none when b is null). Past maxBytes, nothing more is kept (read() then rejects). */
  put(i: number, b: Buffer | null, from: number, to: number): void {
    if (b === null) {
      this.length[i] = -1;
      return;
    }
    const len = to - from;
    if (this.used + len > this.maxBytes) {
      this.used = Infinity;
      return;
    }
    if (this.used + len > this.data.length) {
      const bigger = Buffer.allocUnsafe(Math.min(this.maxBytes, Math.max(2 * this.data.length, this.used + len)));
      this.data.copy(bigger, 0, 0, this.used);
      this.data = bigger;
    }
    // A loop: cheaper than a native copy for a counter's few bytes.
    const data = this.data;
    for (let j = from, o = this.used; j < to; j++, o++) data[o] = b[j]!;
    this.start[i] = this.used;
    this.length[i] = len;
    this.used += len;
  }

  private check(): void {
    if (this.used === Infinity) throw new ValuesTooLarge(`values of more than ${this.maxBytes} bytes`);
  }

  /** Room for `keys` values. */
  private room(keys: number): void {
    if (keys <= this.length.length) return;
    const size = Math.max(2 * this.length.length, keys);
    const start = new Uint32Array(size);
    start.set(this.start);
    this.start = start;
    const length = new Int32Array(size);
    length.set(this.length);
    this.length = length;
  }
}
