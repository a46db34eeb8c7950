/**
 * The buckets of a shget listing, page by page. A tuple's captures rebuild its key (`rebuild`); when the last
 * capture is the timestamp (it holds no delimiter, as rkvdns's greedy captures give it), the captures before it
 * stand for the resource. A page that came as an answer is read in place: the bytes of those captures are looked
 * up in a table of their own, and the timestamp and the value are read as digits, so a bucket costs no string and
 * no object but its ParsedKey; a resource's text is made once. Tuples of any other shape take the text path,
 * which rebuilds the key and splits it as parseKeys does; both give the same buckets.
 */
import { decodeBucket, type Measure } from '../common/measure.js';
import { txtTexts } from '../dns/response.js';
import type { Answer } from './lookup.js';
import type { FieldSpec } from './matchspec.js';
import { Resources, selectBuckets, type BucketColumns, type KeyParse, type Resource } from './totals.js';

export const notShaped = (measure: Measure) => (measure === 'sum' ? 'value is not "sum count"' : 'value is not an integer');

/** Digits of an integer JavaScript holds exactly. */
const MAX_DIGITS = 15;

/**
 * The integer in msg[from, to): optional minus sign (when `signed`), then digits, no leading zero but for 0 itself
 * (so String() of it gives the same text back); NaN otherwise.
 */
function integerAt(msg: Buffer, from: number, to: number, signed: boolean): number {
  let sign = 1;
  if (signed && from < to && msg[from] === 45) {
    sign = -1;
    from++;
  }
  const len = to - from;
  if (len < 1 || len > MAX_DIGITS || (len > 1 && msg[from] === 48)) return NaN;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = msg[i]! - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return sign * n;
}

/** Resources by the bytes of the captures before the timestamp: an open-addressing table of FNV-1a hashes. */
class CaptureTable {
  private bytes = Buffer.allocUnsafe(64 * 1024);
  private used = 0;
  private from: number[] = [];
  private hashes: number[] = [];
  private readonly resources: Resource[] = [];
  /** Slot → index + 1; 0 is empty. */
  private slots = new Uint32Array(1024);

  find(msg: Buffer, from: number, to: number, hash: number): Resource | undefined {
    const mask = this.slots.length - 1;
    for (let i = hash & mask, at = this.slots[i]!; at !== 0; i = (i + 1) & mask, at = this.slots[i]!) {
      const k = at - 1;
      if (this.hashes[k] === hash && this.length(k) === to - from && this.same(k, msg, from, to)) return this.resources[k];
    }
    return undefined;
  }

  add(msg: Buffer, from: number, to: number, hash: number, r: Resource): void {
    const len = to - from;
    if (this.used + len > this.bytes.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + len));
      this.bytes.copy(bigger, 0, 0, this.used);
      this.bytes = bigger;
    }
    msg.copy(this.bytes, this.used, from, to);
    this.from.push(this.used);
    this.used += len;
    this.hashes.push(hash);
    this.resources.push(r);
    if (this.resources.length * 2 > this.slots.length) this.rehash();
    else this.place(this.resources.length - 1);
  }

  /** Whether entry k's bytes are msg[from, to) (of the same length): a loop, cheaper than a native call for a few bytes. */
  private same(k: number, msg: Buffer, from: number, to: number): boolean {
    const bytes = this.bytes;
    for (let i = from, j = this.from[k]!; i < to; i++, j++) if (msg[i] !== bytes[j]) return false;
    return true;
  }

  private length(k: number): number {
    return (k + 1 < this.from.length ? this.from[k + 1]! : this.used) - this.from[k]!;
  }

  private place(k: number): void {
    const mask = this.slots.length - 1;
    let i = this.hashes[k]! & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = k + 1;
  }

  private rehash(): void {
    this.slots = new Uint32Array(this.slots.length * 2);
    for (let k = 0; k < this.resources.length; k++) this.place(k);
  }
}

/** FNV-1a of msg[from, to), as fnv1a32 computes it, without a view of its own. */
function hashOf(msg: Buffer, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h ^= msg[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class TupleParser {
  readonly bucketsFailed: { key: string; reason: string }[] = [];
  private readonly resources: Resources;
  private readonly columns: BucketColumns & { n: number[]; s: number[] } = { res: [], ts: [], start: [], n: [], s: [] };
  private readonly table = new CaptureTable();
  private readonly captures: number;
  private readonly rebuild: (tuple: readonly string[]) => string;
  /**
   * Whether answers may be read in place: the last capture is the rest of the key (so, with no delimiter in it, the
   * timestamp), and the delimiter is one byte that cannot be part of a timestamp or a value.
   */
  private readonly inPlace: boolean;

  /** `shget` from shgetPattern: `restCaptured` when its last capture is the rest of the key, timestamp included. */
  constructor(
    shget: { captures: number; rebuild: (tuple: readonly string[]) => string; restCaptured: boolean },
    spec: readonly FieldSpec[],
    private readonly delimiter: string,
    private readonly measure: Measure,
  ) {
    this.captures = shget.captures;
    this.rebuild = shget.rebuild;
    this.resources = new Resources(spec, delimiter);
    this.inPlace = shget.restCaptured && this.captures >= 2 && delimiter.length === 1 && !/[0-9 -]/.test(delimiter) && delimiter.charCodeAt(0) < 256;
  }

  get count(): number {
    return this.columns.res.length;
  }

  /** One page of tuples: read in place from its answer when it has one, else from its records' text. */
  addPage(page: { readonly records: readonly (readonly string[])[]; answer?: Answer }): void {
    if (!page.answer || !this.inPlace) {
      for (const t of page.records) this.addTuple(t);
      return;
    }
    const { message, records } = page.answer;
    for (const r of records)
      if (!this.addInPlace(message, r.rdataOffset, r.rdataOffset + r.rdataLength)) this.addTuple(txtTexts(message, r.rdataOffset, r.rdataLength));
  }

  finish(fieldCount?: number): KeyParse {
    return selectBuckets(this.columns, this.resources.all, fieldCount);
  }

  /**
   * A TXT record of `captures` + 1 strings whose timestamp and value read as integers; false (nothing added) for
   * any other, which the text path then takes (and names, when it is not a bucket).
   */
  private addInPlace(msg: Buffer, from: number, to: number): boolean {
    // Where the timestamp's string and the value's string start (their length bytes).
    let at = from;
    let tsAt = -1;
    let valueAt = -1;
    for (let s = 0; s <= this.captures; s++) {
      if (at >= to) return false;
      if (s === this.captures - 1) tsAt = at;
      else if (s === this.captures) valueAt = at;
      at += 1 + msg[at]!;
    }
    if (at !== to) return false;
    const start = integerAt(msg, tsAt + 1, valueAt, false);
    if (Number.isNaN(start)) return false;
    if (!this.valueAt(msg, valueAt + 1, to)) return false;
    // The captures before the timestamp, length bytes included: one id for the tuple's resource.
    const hash = hashOf(msg, from, tsAt);
    let res = this.table.find(msg, from, tsAt, hash);
    if (!res) {
      const tuple = txtTexts(msg, from, to - from);
      const key = this.rebuild(tuple);
      const stamp = tuple[this.captures - 1]!;
      res = this.resources.of(key.slice(0, key.length - stamp.length - this.delimiter.length));
      this.table.add(msg, from, tsAt, hash, res);
    }
    this.columns.res.push(res);
    this.columns.ts.push(null);
    this.columns.start.push(start);
    this.columns.n.push(this.n);
    this.columns.s.push(this.s);
    return true;
  }

  /** The value just read by valueAt: lines and units. */
  private n = 0;
  private s = 0;

  /** Reads the bucket value in msg[from, to) by the measure; false when it is not plain digits (the text path decides). */
  private valueAt(msg: Buffer, from: number, to: number): boolean {
    if (this.measure !== 'sum') {
      const v = integerAt(msg, from, to, true);
      this.n = this.measure === 'count' ? v : 0;
      this.s = this.measure === 'count' ? 0 : v;
      return !Number.isNaN(v);
    }
    const space = msg.indexOf(32, from);
    if (space < 0 || space >= to) return false;
    this.s = integerAt(msg, from, space, true);
    this.n = integerAt(msg, space + 1, to, false);
    return !Number.isNaN(this.s) && !Number.isNaN(this.n);
  }

  private addTuple(t: readonly string[]): void {
    // One value per key (a tuple of several would be several keys' values: not ours).
    const value = t.length === this.captures + 1 ? decodeBucket(this.measure, t[this.captures]!) : null;
    const key = this.rebuild(t);
    if (!value) this.bucketsFailed.push({ key, reason: notShaped(this.measure) });
    this.resources.addKey(this.columns, key);
    this.columns.n.push(value ? value.n : NaN);
    this.columns.s.push(value ? value.s : 0);
  }
}
