/**
 * Turns Redis values into encoded answer records: value-size limit, TXT/A/AAAA conversion,
 * duplicate removal, TTL clamp.
 */
import { CLASS_IN, QTYPE } from '../dns/constants.js';
import { POINTER_RECORD_HEAD as RR_HEAD, QNAME_POINTER, RecordRun, encodeRR, type Records } from '../dns/message.js';
import type { ShardPattern } from '../query/shards.js';
import type { ValueRun } from '../redis/scan-values.js';
import { toA, toAAAA } from './addresses.js';

export interface RenderLimits {
  MAX_VALUE_PAYLOAD: number;
  RETURN_PARTIAL_VALUE: boolean;
  DEFAULT_TTL: number;
  MIN_TTL: number;
  MAX_TTL: number;
}

export interface Rendered {
  rrs: Records;
  /** Values cut or dropped for size, and values that could not be shown as an address. */
  oversize: number;
  unconvertible: number;
}

export function clampTtl(ttl: number | null, s: RenderLimits): number {
  const t = ttl === null || ttl < 0 ? s.DEFAULT_TTL : ttl;
  return Math.min(Math.max(t, s.MIN_TTL), s.MAX_TTL);
}

/**
 * `answerType` is TXT, A or AAAA (callers map ALL_QUERIES_AS_TXT to TXT). `distinct` when the records cannot repeat
 * (a shget listing of one tuple per key: each record holds its key's captures), so none is looked for.
 */
export function renderRecords(records: readonly Buffer[][], answerType: number, ttl: number, s: RenderLimits, distinct = false): Rendered {
  return answerType === QTYPE.TXT ? renderTxt(records, ttl, s, distinct) : renderAddresses(records, answerType, ttl, s);
}

/**
 * TXT records written into one Buffer, a run of them (RecordRun): a listing page is hundreds of records, and a Buffer
 * each for its rdata and another for the record cost the garbage collector more than the encoding.
 */
function renderTxt(records: readonly Buffer[][], ttl: number, s: RenderLimits, distinct: boolean): Rendered {
  const max = s.MAX_VALUE_PAYLOAD;
  const kept = (v: Buffer) => (v.length <= max ? v.length : s.RETURN_PARTIAL_VALUE ? max : -1);
  let size = 0;
  let oversize = 0;
  for (const record of records) {
    let rdlen = 0;
    for (const v of record) {
      const len = kept(v);
      if (len !== v.length) oversize++;
      if (len >= 0) rdlen += 1 + len;
    }
    if (rdlen > 0) size += RR_HEAD + rdlen;
  }
  const slab = Buffer.allocUnsafe(size);
  const ends = new Uint32Array(records.length);
  let count = 0;
  // One record (a GET, every counter read) has nothing to be a duplicate of: no Set and no key string for it. Distinct
  // records stay so unless a value was cut or dropped.
  const seen = (!distinct || oversize > 0) && records.length > 1 ? new Set<string>() : null;
  let at = 0;
  for (const record of records) {
    const from = at;
    at += RR_HEAD;
    for (const v of record) {
      const len = kept(v);
      if (len < 0) continue;
      if (len > 255) throw new RangeError(`TXT character-string of ${len} bytes exceeds 255`);
      at = putString(slab, at, v, 0, len);
    }
    if (at === from + RR_HEAD) {
      at = from;
      continue;
    }
    if (seen) {
      const id = slab.toString('latin1', from + RR_HEAD, at);
      if (seen.has(id)) {
        at = from;
        continue;
      }
      seen.add(id);
    }
    writeHead(slab, from, QTYPE.TXT, ttl, at - from - RR_HEAD);
    ends[count++] = at;
  }
  return { rrs: new RecordRun(slab.subarray(0, at), ends.subarray(0, count)), oversize, unconvertible: 0 };
}

/**
 * A shget of a tuple per key as TXT, written straight from the keys and their values: each matching key with a value
 * is a record of its captures (read where they lie in the key) and that value, so a page of hundreds of keys makes no
 * Buffer or array per key. Such records cannot repeat. Null when a string is longer than MAX_VALUE_PAYLOAD: cut or
 * dropped, records could then repeat or lose every string, which renderTxt sees to.
 */
export function renderTupleTxt(keys: readonly Buffer[], values: ValueRun, pattern: ShardPattern, ttl: number, s: RenderLimits): Rendered | null {
  const max = s.MAX_VALUE_PAYLOAD;
  const captures = pattern.captures;
  const { data, start, length } = values;
  // At most every key's bytes (its captures are some of them), its value and a length byte per string.
  let bound = 0;
  for (let i = 0; i < keys.length; i++) if (length[i]! >= 0) bound += RR_HEAD + keys[i]!.length + length[i]! + captures + 1;
  const slab = Buffer.allocUnsafe(bound);
  const ends = new Uint32Array(keys.length);
  const at = new Int32Array(2 * captures);
  let count = 0;
  let o = 0;
  for (let i = 0; i < keys.length; i++) {
    const len = length[i]!;
    const key = keys[i]!;
    if (len < 0 || !pattern.matchInto(key, at)) continue;
    if (len > max) return null;
    const from = o;
    o += RR_HEAD;
    for (let c = 0; c < 2 * captures; c += 2) {
      if (at[c + 1]! - at[c]! > max) return null;
      o = putString(slab, o, key, at[c]!, at[c + 1]!);
    }
    o = putString(slab, o, data, start[i]!, start[i]! + len);
    writeHead(slab, from, QTYPE.TXT, ttl, o - from - RR_HEAD);
    ends[count++] = o;
  }
  return { rrs: new RecordRun(slab.subarray(0, o), ends.subarray(0, count)), oversize: 0, unconvertible: 0 };
}

/** src[from, to) as a character-string at `at` (its length byte, then its bytes); returns where it ends. */
function putString(slab: Buffer, at: number, src: Buffer, from: number, to: number): number {
  slab[at++] = to - from;
  // A loop: for the few dozen bytes of a capture or a value, cheaper than a native copy.
  for (let i = from; i < to; i++) slab[at++] = src[i]!;
  return at;
}

/** A record's head at `from`: the pointer to the question's name, type, class IN, TTL and rdata length. */
function writeHead(slab: Buffer, from: number, type: number, ttl: number, rdlength: number): void {
  slab[from] = QNAME_POINTER[0]!;
  slab[from + 1] = QNAME_POINTER[1]!;
  const o = from + QNAME_POINTER.length;
  slab.writeUInt16BE(type, o);
  slab.writeUInt16BE(CLASS_IN, o + 2);
  slab.writeUInt32BE(ttl >>> 0, o + 4);
  slab.writeUInt16BE(rdlength, o + 8);
}

function renderAddresses(records: readonly Buffer[][], answerType: number, ttl: number, s: RenderLimits): Rendered {
  const rrs: Buffer[] = [];
  const seen = records.length > 1 ? new Set<string>() : null;
  let oversize = 0;
  let unconvertible = 0;
  for (const record of records) {
    const strings: Buffer[] = [];
    for (const v of record) {
      if (v.length <= s.MAX_VALUE_PAYLOAD) strings.push(v);
      else {
        oversize++;
        if (s.RETURN_PARTIAL_VALUE) strings.push(v.subarray(0, s.MAX_VALUE_PAYLOAD));
      }
    }
    if (strings.length === 0) continue;
    const rdata = strings.length !== 1 ? null : answerType === QTYPE.A ? toA(strings[0]!) : toAAAA(strings[0]!);
    if (!rdata) {
      unconvertible++;
      continue;
    }
    if (seen) {
      const id = rdata.toString('latin1');
      if (seen.has(id)) continue;
      seen.add(id);
    }
    rrs.push(encodeRR(QNAME_POINTER, answerType, ttl, rdata));
  }
  return { rrs, oversize, unconvertible };
}
