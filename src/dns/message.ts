/**
 * Answer encoding. Resource records are encoded once into Buffers whose owner name is a compression
 * pointer to the question name (0xC00C), so one encoded answer can be shared by every client asking the
 * same thing and assembled per client with its own id, question bytes and size limit.
 */
import { CLASS_IN, HEADER_LEN, QTYPE, type Rcode } from './constants.js';
import type { Query } from './query.js';

/** Pointer to the question name, which always starts right after the header. */
export const QNAME_POINTER = Buffer.from([0xc0, HEADER_LEN]);

/** The bytes of an answer record before its rdata: the owner (a pointer to the question), type, class, TTL, rdata length. */
export const POINTER_RECORD_HEAD = QNAME_POINTER.length + 10;

/** Wire form of a name given as labels (no compression). */
export function encodeName(labels: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const l of labels) parts.push(Buffer.from([l.length]), l);
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** Splits presentation-form dotted text (no escapes) into labels; for configured names like the zone. */
export function labelsOf(dotted: string): Buffer[] {
  return dotted
    .split('.')
    .filter((s) => s.length > 0)
    .map((s) => Buffer.from(s, 'latin1'));
}

export function encodeRR(owner: Buffer, type: number, ttl: number, rdata: Buffer): Buffer {
  const rr = Buffer.allocUnsafe(owner.length + 10 + rdata.length);
  owner.copy(rr, 0);
  const o = owner.length;
  rr.writeUInt16BE(type, o);
  rr.writeUInt16BE(CLASS_IN, o + 2);
  rr.writeUInt32BE(ttl >>> 0, o + 4);
  rr.writeUInt16BE(rdata.length, o + 8);
  rdata.copy(rr, o + 10);
  return rr;
}

/** TXT rdata from character-strings, each at most 255 bytes (callers enforce MAX_VALUE_PAYLOAD). */
export function txtRdata(strings: readonly Buffer[]): Buffer {
  let len = 0;
  for (const s of strings) {
    if (s.length > 255) throw new RangeError(`TXT character-string of ${s.length} bytes exceeds 255`);
    len += 1 + s.length;
  }
  // A TXT record must hold at least one character-string, possibly empty.
  if (strings.length === 0) return Buffer.from([0]);
  const out = Buffer.allocUnsafe(len);
  let o = 0;
  for (const s of strings) {
    out[o++] = s.length;
    s.copy(out, o);
    o += s.length;
  }
  return out;
}

/**
 * Records encoded back to back in one Buffer, record i ending at ends[i]. A listing page is hundreds of records, held
 * by its flight for seconds: as a Buffer view each, they are hundreds of objects for the garbage collector to copy
 * out of its young generation and walk; as a run, one.
 */
export class RecordRun {
  constructor(
    readonly bytes: Buffer,
    private readonly ends: Uint32Array,
  ) {}

  get length(): number {
    return this.ends.length;
  }

  /** Bytes of the first n records. */
  sizeOf(n: number): number {
    return n === 0 ? 0 : this.ends[n - 1]!;
  }

  /** How many records from the first fit in `room` bytes. */
  fitting(room: number): number {
    // The ends only grow: a binary search for the last one within the room.
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.ends[mid - 1]! <= room) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Calls fn with the start and end of each record in `bytes`. */
  each(fn: (start: number, end: number) => void): void {
    for (let i = 0, start = 0; i < this.ends.length; start = this.ends[i++]!) fn(start, this.ends[i]!);
  }

  /** A copy whose records are changed by `change` (given the copy and each record's start). */
  changed(change: (bytes: Buffer, start: number) => void): RecordRun {
    const copy = Buffer.from(this.bytes);
    this.each((start) => change(copy, start));
    return new RecordRun(copy, this.ends);
  }
}

/** An answer section: its records, each encoded; a listing's as one run. */
export type Records = readonly Buffer[] | RecordRun;

/** An answer ready to be sent to any client that asked the same thing. */
export interface EncodedAnswer {
  rcode: Rcode;
  answers: Records;
  authority: readonly Buffer[];
}

export interface Assembled {
  packet: Buffer;
  truncated: boolean;
  /** Answer records left out to respect the size limit. */
  dropped: number;
}

const OPT_LEN = 11;

/** The OPT record of an answer to a query that had one (RFC 6891): our UDP size, DO echoed (RFC 3225), no options. */
export interface Opt {
  size: number;
  do: boolean;
  /** The upper 8 bits of a 12-bit rcode (BADVERS). */
  extendedRcodeHigh?: number;
}

function optRecord(o: Opt): Buffer {
  const b = Buffer.alloc(OPT_LEN);
  // owner root (0), TYPE OPT, CLASS = payload size, TTL = ext-rcode|version|flags (DO the top bit), RDLEN 0
  b.writeUInt16BE(QTYPE.OPT, 1);
  b.writeUInt16BE(o.size, 3);
  b[5] = o.extendedRcodeHigh ?? 0;
  if (o.do) b[7] = 0x80;
  return b;
}

/**
 * Builds the packet for one client. `limit` is the byte limit for this transport; records are dropped
 * from the end of the answer (then authority) until it fits. `setTcOnDrop` is false on TCP, where a
 * partial answer is only ever sent deliberately (RETURN_PARTIAL_TCP).
 */
export function assemble(
  q: Pick<Query, 'id' | 'rd' | 'cd' | 'question'>,
  ans: EncodedAnswer,
  limit: number,
  opts: { opt?: Opt; setTcOnDrop: boolean; truncate?: boolean },
): Assembled {
  const opt = opts.opt ? optRecord(opts.opt) : undefined;
  let size = HEADER_LEN + q.question.length + (opt ? OPT_LEN : 0);
  let an = 0;
  let ns = 0;
  const answers = ans.answers;
  if (answers instanceof RecordRun) {
    an = answers.fitting(limit - size);
    size += answers.sizeOf(an);
  } else
    for (; an < answers.length; an++) {
      const n = answers[an]!.length;
      if (size + n > limit) break;
      size += n;
    }
  const dropped = answers.length - an;
  if (dropped === 0) {
    for (; ns < ans.authority.length; ns++) {
      const n = ans.authority[ns]!.length;
      if (size + n > limit) break;
      size += n;
    }
  }
  const truncated = (dropped > 0 && opts.setTcOnDrop) || opts.truncate === true;
  const packet = Buffer.allocUnsafe(size);
  packet.writeUInt16BE(q.id, 0);
  // QR=1, opcode 0, AA=1, TC, RD echoed, RA=0; CD echoed.
  let flags = 0x8000 | 0x0400 | (ans.rcode & 0xf);
  if (truncated) flags |= 0x0200;
  if (q.rd) flags |= 0x0100;
  if (q.cd) flags |= 0x0010;
  packet.writeUInt16BE(flags, 2);
  packet.writeUInt16BE(1, 4);
  packet.writeUInt16BE(an, 6);
  packet.writeUInt16BE(ns, 8);
  packet.writeUInt16BE(opt ? 1 : 0, 10);
  let o = HEADER_LEN;
  o += q.question.copy(packet, o);
  if (answers instanceof RecordRun) o += answers.bytes.copy(packet, o, 0, answers.sizeOf(an));
  else for (let i = 0; i < an; i++) o += answers[i]!.copy(packet, o);
  for (let i = 0; i < ns; i++) o += ans.authority[i]!.copy(packet, o);
  if (opt) opt.copy(packet, o);
  return { packet, truncated, dropped };
}

/**
 * Minimal error answer for packets whose question could not be used (no question echoed), with an OPT when the
 * packet had one. RD is echoed for QUERY only: the other opcodes define no flags (RFC 1035 4.1.1).
 */
export function headerOnly(id: number, opcode: number, rd: boolean, rcode: Rcode, opt?: Opt): Buffer {
  const b = Buffer.alloc(HEADER_LEN + (opt ? OPT_LEN : 0));
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(0x8000 | ((opcode & 0xf) << 11) | (rd && opcode === 0 ? 0x0100 : 0) | (rcode & 0xf), 2);
  if (opt) {
    b.writeUInt16BE(1, 10);
    optRecord(opt).copy(b, HEADER_LEN);
  }
  return b;
}

/** Offset of the TYPE field of the record at `start`: right after its owner name (labels, then 0 or a pointer). */
function typeOffset(rr: Buffer, start = 0): number {
  let o = start;
  for (;;) {
    const b = rr[o]!;
    if (b === 0) return o + 1;
    if ((b & 0xc0) === 0xc0) return o + 2;
    o += 1 + b;
  }
}

/** Calls fn with each record's bytes, start and end: a run's own Buffer, or a record's. */
function eachRecord(records: Records, fn: (bytes: Buffer, start: number, end: number) => void): void {
  if (records instanceof RecordRun) records.each((start, end) => fn(records.bytes, start, end));
  else for (const rr of records) fn(rr, 0, rr.length);
}

/**
 * How long, in seconds, a cache may keep this answer: the smallest record TTL, and for an SOA (negative
 * answers) also its MINIMUM field. Null when the answer holds no records at all.
 */
export function cacheLifetime(ans: EncodedAnswer): number | null {
  let min: number | null = null;
  const visit = (rr: Buffer, start: number, end: number) => {
    const t = typeOffset(rr, start);
    let ttl = rr.readUInt32BE(t + 4);
    if (rr.readUInt16BE(t) === QTYPE.SOA) ttl = Math.min(ttl, rr.readUInt32BE(end - 4));
    min = min === null ? ttl : Math.min(min, ttl);
  };
  eachRecord(ans.answers, visit);
  eachRecord(ans.authority, visit);
  return min;
}

/** A copy of the answer whose record TTLs are `seconds` lower (not below 0), as a cache would serve it. */
export function agedAnswer(ans: EncodedAnswer, seconds: number): EncodedAnswer {
  const lower = (rr: Buffer, start: number) => {
    const at = typeOffset(rr, start) + 4;
    rr.writeUInt32BE(Math.max(0, rr.readUInt32BE(at) - seconds), at);
  };
  const age = (rr: Buffer) => {
    const out = Buffer.from(rr);
    lower(out, 0);
    return out;
  };
  const answers = ans.answers instanceof RecordRun ? ans.answers.changed(lower) : ans.answers.map(age);
  return { rcode: ans.rcode, answers, authority: ans.authority.map(age) };
}

export function sizeOf(ans: EncodedAnswer, questionLen: number): number {
  let s = HEADER_LEN + questionLen;
  eachRecord(ans.answers, (_, start, end) => (s += end - start));
  for (const r of ans.authority) s += r.length;
  return s;
}
