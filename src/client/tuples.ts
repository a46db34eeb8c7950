/**
 * The buckets of a shget listing, page by page, into a BucketSet. A tuple's captures rebuild its key (`rebuild`);
 * when the last capture is the timestamp (it holds no delimiter, as rkvdns's greedy captures give it), the captures
 * before it stand for the resource. A page that came as an answer is read in place: the bytes of those captures
 * are looked up in a table of their own, the timestamp and the value are read as digits, and a new resource is
 * grouped from its bytes, so a bucket costs no string and no object. Tuples of any other shape take the text path,
 * which rebuilds the key and splits it as parseKeys does; both give the same buckets, and the same resource for
 * the same captures.
 */
import { decodeBucket, type Measure } from '../common/measure.js';
import { txtTexts } from '../dns/response.js';
import { BucketSet, grown } from './bucket-set.js';
import type { Answer } from './lookup.js';
import { GroupOfBytes, isLatin1, type FieldSpec } from './matchspec.js';
import { ResourcesByText } from './totals.js';

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

/** Bytes set aside per entry when a table is reserved: a resource's captures, or a group's text, seldom need more. */
const RESERVED_BYTES_PER_ENTRY = 32;

/** `bytes` in a Buffer of `size`, its first `used` bytes kept. */
function grownBytes(bytes: Buffer, used: number, size: number): Buffer {
  const bigger = Buffer.allocUnsafe(size);
  bytes.copy(bigger, 0, 0, used);
  return bigger;
}

/**
 * Numbers by byte strings (a resource's captures, a group's text): an open-addressing table of FNV-1a hashes. A
 * slot holds the hash, the number, and where the bytes are and how long, so a lookup touches the slot and the bytes
 * only (a million lookups in a table of hundreds of thousands are a cache miss each).
 */
class ByteTable {
  bytes: Buffer = Buffer.allocUnsafe(256 * 1024);
  private used = 0;
  /** Where each entry's bytes start, in the order they were added (for reading them back). */
  private from = new Int32Array(16 * 1024);
  private entries = 0;
  /** Slots of four: the hash, the number + 1 (0: empty), where the bytes start, their length. */
  private slots = new Int32Array(4 * 32 * 1024);

  /** The number stored for msg[from, to), or -1. */
  find(msg: Buffer, from: number, to: number, hash: number): number {
    const slots = this.slots;
    const mask = slots.length / 4 - 1;
    const len = to - from;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const at = 4 * i;
      const value = slots[at + 1]!;
      if (value === 0) return -1;
      if (slots[at] === hash && slots[at + 3] === len && this.same(slots[at + 2]!, msg, from, to)) return value - 1;
    }
  }

  /** Stores `value` for msg[from, to) (not there yet); returns its entry. */
  add(msg: Buffer, from: number, to: number, hash: number, value: number): number {
    const len = to - from;
    if (this.used + len > this.bytes.length) this.bytes = grownBytes(this.bytes, this.used, Math.max(this.bytes.length * 2, this.used + len));
    // A loop: cheaper than a native copy for a few bytes.
    const bytes = this.bytes;
    for (let i = from, j = this.used; i < to; i++, j++) bytes[j] = msg[i]!;
    const k = this.entries++;
    this.from = grown(this.from, k + 2);
    this.from[k] = this.used;
    this.from[k + 1] = this.used + len;
    if (this.entries * 2 > this.slots.length / 4) this.rehash();
    this.place(hash, value + 1, this.used, len);
    this.used += len;
    return k;
  }

  /** Entry k's bytes are bytes[start(k), start(k + 1)). */
  start(k: number): number {
    return this.from[k]!;
  }

  /**
   * Room for the bytes of up to `entries`, so that they are not copied as the table grows: memory set aside and not
   * yet written costs nothing (the system gives it on first touch). The slots are not: they are read at random, and
   * slots for a guess many times the entries that come (resources of many buckets) would cost a cache miss per
   * lookup; they double as entries come instead.
   */
  reserve(entries: number): void {
    if (entries * RESERVED_BYTES_PER_ENTRY > this.bytes.length) this.bytes = grownBytes(this.bytes, this.used, entries * RESERVED_BYTES_PER_ENTRY);
    this.from = grown(this.from, entries + 2);
  }

  /** Whether bytes[at, at + (to - from)) are msg[from, to). */
  private same(at: number, msg: Buffer, from: number, to: number): boolean {
    const bytes = this.bytes;
    for (let i = from, j = at; i < to; i++, j++) if (msg[i] !== bytes[j]) return false;
    return true;
  }

  private place(hash: number, value: number, at: number, len: number): void {
    const slots = this.slots;
    const mask = slots.length / 4 - 1;
    let i = hash & mask;
    while (slots[4 * i + 1] !== 0) i = (i + 1) & mask;
    slots[4 * i] = hash;
    slots[4 * i + 1] = value;
    slots[4 * i + 2] = at;
    slots[4 * i + 3] = len;
  }

  /** Twice the slots, every entry placed again. */
  private rehash(): void {
    const old = this.slots;
    this.slots = new Int32Array(2 * old.length);
    for (let i = 0; i < old.length; i += 4) if (old[i + 1] !== 0) this.place(old[i]!, old[i + 1]!, old[i + 2]!, old[i + 3]!);
  }
}

/** FNV-1a of msg[from, to), as fnv1a32 computes it (as a signed 32-bit number), without a view of its own. */
function hashOf(msg: Buffer, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h ^= msg[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

export class TupleParser {
  readonly bucketsFailed: { key: string; reason: string }[] = [];
  private readonly set: BucketSet;
  private readonly byText: ResourcesByText;
  private readonly table = new ByteTable();
  /** Group numbers by the group's bytes. */
  private readonly groupTable = new ByteTable();
  /** Per resource, its entry in the table + 1; 0 for one made from its text (whose text the set keeps). */
  private entryOf = new Int32Array(1024);
  private readonly grouper: GroupOfBytes | null;
  private readonly literals: Buffer[];
  private readonly captures: number;
  private readonly rebuild: (tuple: readonly string[]) => string;
  /** A resource's bytes as its key has them, assembled from the literals and its captures. */
  private scratch = Buffer.allocUnsafe(1024);
  /**
   * Whether answers may be read in place: the last capture is the rest of the key (so, with no delimiter in it, the
   * timestamp), the delimiter is one byte that cannot be part of a timestamp or a value, and the spec's texts are
   * one byte per character.
   */
  private readonly inPlace: boolean;

  /** `shget` from shgetPattern: `restCaptured` when its last capture is the rest of the key, timestamp included. */
  constructor(
    shget: { captures: number; literals: readonly string[]; rebuild: (tuple: readonly string[]) => string; restCaptured: boolean },
    spec: readonly FieldSpec[],
    private readonly delimiter: string,
    private readonly measure: Measure,
  ) {
    this.captures = shget.captures;
    this.rebuild = shget.rebuild;
    this.set = new BucketSet(delimiter, (r) => this.textOf(r));
    this.byText = new ResourcesByText(this.set, spec, (g) => this.groupOfText(g));
    this.grouper = GroupOfBytes.of(spec, delimiter);
    this.literals = shget.literals.map((l) => Buffer.from(l, 'latin1'));
    this.inPlace = shget.restCaptured && this.captures >= 2 && this.grouper !== null && !/[0-9 -]/.test(delimiter) && shget.literals.every(isLatin1);
  }

  /**
   * Room for a listing of `keys` bucket keys: the buckets, and the bytes of the tables for a guess of its resources and
   * groups (half and a quarter as many), which spares copying them as they grow from small.
   */
  reserve(keys: number): void {
    this.set.reserve(keys);
    this.table.reserve(keys / 2);
    this.groupTable.reserve(keys / 4);
  }

  /** One page of tuples: read in place from its answer when it has one, else from its records' text. */
  addPage(page: { readonly records: readonly (readonly string[])[]; answer?: Answer }): void {
    if (!page.answer || !this.inPlace) {
      for (const t of page.records) this.addTuple(t);
      return;
    }
    const { message, records } = page.answer;
    for (let i = 0; i < records.count; i++) {
      const [at, length] = [records.rdataOffset(i), records.rdataLength(i)];
      if (!this.addInPlace(message, at, at + length)) this.addTuple(txtTexts(message, at, length));
    }
  }

  /** The buckets (select them with selectBuckets). */
  finish(): BucketSet {
    return this.set;
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
    this.set.addBucket(this.resourceOf(msg, from, tsAt), start, this.n, this.s);
    return true;
  }

  /** The resource of the captures msg[from, to) (length bytes included), made the first time. */
  private resourceOf(msg: Buffer, from: number, to: number): number {
    const hash = hashOf(msg, from, to);
    let r = this.table.find(msg, from, to, hash);
    if (r < 0) {
      const grouper = this.grouper!;
      const len = grouper.group(this.scratch, 0, this.assemble(msg, from, to));
      r = this.set.addResource(len < 0 ? -1 : this.groupOf(grouper.bytes, len), grouper.fields);
      this.entryOf = grown(this.entryOf, r + 1);
      this.entryOf[r] = this.table.add(msg, from, to, hash, r) + 1;
    }
    return r;
  }

  /** The number of the group bytes[0, len): from the table, or made (and named) the first time. */
  private groupOf(bytes: Buffer, len: number): number {
    const hash = hashOf(bytes, 0, len);
    let g = this.groupTable.find(bytes, 0, len, hash);
    if (g < 0) this.groupTable.add(bytes, 0, len, hash, (g = this.set.newGroup(bytes.toString('latin1', 0, len))));
    return g;
  }

  /** The number of a group found by the text path: by its bytes, as in place, when it has one byte per character. */
  private groupOfText(group: string | null): number {
    if (group === null || !isLatin1(group)) return this.set.groupId(group);
    const bytes = Buffer.from(group, 'latin1');
    return this.groupOf(bytes, bytes.length);
  }

  /** Writes the resource of captures src[from, to) into scratch: literals[0] + c[0] + literals[1] + … without the last delimiter. */
  private assemble(src: Buffer, from: number, to: number): number {
    // The captures are at most `to - from` bytes; the literals are fixed.
    const need = to - from + this.literals.reduce((a, l) => a + l.length, 0);
    if (need > this.scratch.length) this.scratch = Buffer.allocUnsafe(2 * need);
    const out = this.scratch;
    let used = 0;
    let c = 0;
    for (let at = from; ; c++) {
      const lit = this.literals[c]!;
      for (let i = 0; i < lit.length; i++) out[used++] = lit[i]!;
      if (at >= to) break;
      const len = src[at]!;
      for (let i = at + 1; i <= at + len; i++) out[used++] = src[i]!;
      at += 1 + len;
    }
    return used - 1;
  }

  /** The text of resource r made in place (texts of the others are kept as they were made). */
  private textOf(r: number): string {
    const k = this.entryOf[r]! - 1;
    const len = this.assemble(this.table.bytes, this.table.start(k), this.table.start(k + 1));
    return this.scratch.toString('latin1', 0, len);
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
    const [n, s] = value ? [value.n, value.s] : [NaN, 0];
    // Captures as an answer carries them: the same resource as when read in place.
    const captured = this.inPlace && t.length >= this.captures ? this.capturesOf(t) : -1;
    if (captured < 0) return this.byText.addKey(key, n, s);
    this.set.addStamped(this.resourceOf(this.encoded, 0, captured), t[this.captures - 1]!, n, s);
  }

  private encoded = Buffer.allocUnsafe(1024);

  /**
   * The captures before the timestamp of tuple t as an answer has them (length byte, then the bytes), in `encoded`:
   * their length, or -1 when the timestamp holds the delimiter or a capture is not such a string.
   */
  private capturesOf(t: readonly string[]): number {
    if (t[this.captures - 1]!.includes(this.delimiter)) return -1;
    let used = 0;
    for (let c = 0; c < this.captures - 1; c++) {
      const text = t[c]!;
      if (text.length > 255 || !isLatin1(text)) return -1;
      if (used + 1 + text.length > this.encoded.length) {
        const bigger = Buffer.allocUnsafe(2 * (used + 1 + text.length));
        this.encoded.copy(bigger, 0, 0, used);
        this.encoded = bigger;
      }
      this.encoded[used++] = text.length;
      used += this.encoded.write(text, used, 'latin1');
    }
    return used;
  }
}
