/**
 * Decodes DNS answers for the client: rcode, TC, and the answer records with their TTLs and raw rdata.
 * Names may be compressed; pointer chains are bounded so a hostile answer cannot loop.
 */
import { HEADER_LEN, QTYPE } from './constants.js';

/**
 * The records of an answer section, read in place: four numbers each (type, TTL, where the rdata starts in the
 * message, its length) in one typed array, with no object and no Buffer per record (a listing page holds hundreds,
 * a million-key walk a million). Names inside an rdata may point elsewhere in the message.
 */
export class AnswerRecords {
  constructor(
    private readonly table: Uint32Array,
    readonly count: number,
  ) {}

  type(i: number): number {
    return this.table[4 * i]!;
  }

  ttl(i: number): number {
    return this.table[4 * i + 1]!;
  }

  rdataOffset(i: number): number {
    return this.table[4 * i + 2]!;
  }

  rdataLength(i: number): number {
    return this.table[4 * i + 3]!;
  }

  /** The records of type `t`: these same records when all are. */
  ofType(t: number): AnswerRecords {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (this.type(i) === t) n++;
    if (n === this.count) return this;
    const table = new Uint32Array(4 * n);
    for (let i = 0, j = 0; i < this.count; i++) if (this.type(i) === t) table.set(this.table.subarray(4 * i, 4 * i + 4), 4 * j++);
    return new AnswerRecords(table, n);
  }

  /** The shortest TTL among them (Infinity for none). */
  minTtl(): number {
    let min = Infinity;
    for (let i = 0; i < this.count; i++) min = Math.min(min, this.ttl(i));
    return min;
  }
}

export interface Response {
  id: number;
  rcode: number;
  tc: boolean;
  /** Recursion available: the answer came through a recursive resolver, not from rkvdns itself (RA=0). */
  ra: boolean;
  answers: AnswerRecords;
  /** Minimum field of an SOA in the authority section: how long a negative answer may be cached. */
  negativeTtl: number | null;
  message: Buffer;
  /** Extended DNS Error codes in the OPT record (RFC 8914): 3 and 19 say a resolver served a stale answer. */
  ede: number[];
}

export class MalformedResponse extends Error {}

/** Reads a possibly compressed name; returns its labels and the offset after it in the original place. */
export function readName(msg: Buffer, off: number): { labels: Buffer[]; end: number } {
  const labels: Buffer[] = [];
  let end = -1;
  for (let jumps = 0; jumps < 64;) {
    if (off >= msg.length) throw new MalformedResponse('name runs past the end');
    const len = msg[off]!;
    if (len === 0) return { labels, end: end < 0 ? off + 1 : end };
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= msg.length) throw new MalformedResponse('truncated pointer');
      if (end < 0) end = off + 2;
      off = ((len & 0x3f) << 8) | msg[off + 1]!;
      jumps++;
      continue;
    }
    if (len > 63 || off + 1 + len > msg.length) throw new MalformedResponse('bad label');
    labels.push(msg.subarray(off + 1, off + 1 + len));
    off += 1 + len;
  }
  throw new MalformedResponse('too many compression pointers');
}

/** The offset after a possibly compressed name, checked as readName checks it but making nothing. */
export function skipName(msg: Buffer, off: number): number {
  for (;;) {
    if (off >= msg.length) throw new MalformedResponse('name runs past the end');
    const len = msg[off]!;
    if (len === 0) return off + 1;
    // A pointer ends the name here; where it points was checked when the name was first read (the question).
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= msg.length) throw new MalformedResponse('truncated pointer');
      return off + 2;
    }
    if (len > 63 || off + 1 + len > msg.length) throw new MalformedResponse('bad label');
    off += 1 + len;
  }
}

export function decodeResponse(msg: Buffer): Response {
  if (msg.length < HEADER_LEN) throw new MalformedResponse('short answer');
  const flags = msg.readUInt16BE(2);
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  const ns = msg.readUInt16BE(8);
  const ar = msg.readUInt16BE(10);
  let off = HEADER_LEN;
  for (let i = 0; i < qd; i++) off = readName(msg, off).end + 4;
  // Owner names are skipped, not read: an answer's records all point back at the question's name.
  const table = new Uint32Array(4 * an);
  let negativeTtl: number | null = null;
  for (let i = 0; i < an + ns; i++) {
    off = skipName(msg, off);
    if (off + 10 > msg.length) throw new MalformedResponse('truncated record');
    // Big-endian fields read byte by byte: a million records pass here. (The table keeps the TTL as unsigned.)
    const type = (msg[off]! << 8) | msg[off + 1]!;
    const ttl = (msg[off + 4]! << 24) | (msg[off + 5]! << 16) | (msg[off + 6]! << 8) | msg[off + 7]!;
    const rdlen = (msg[off + 8]! << 8) | msg[off + 9]!;
    const rdataOffset = off + 10;
    if (rdataOffset + rdlen > msg.length) throw new MalformedResponse('truncated rdata');
    if (i < an) {
      table[4 * i] = type;
      table[4 * i + 1] = ttl;
      table[4 * i + 2] = rdataOffset;
      table[4 * i + 3] = rdlen;
    } else if (type === QTYPE.SOA && rdlen >= 20) negativeTtl = Math.min(ttl, msg.readUInt32BE(rdataOffset + rdlen - 4));
    off = rdataOffset + rdlen;
  }
  return {
    id: msg.readUInt16BE(0),
    rcode: flags & 0xf,
    tc: (flags & 0x0200) !== 0,
    ra: (flags & 0x0080) !== 0,
    answers: new AnswerRecords(table, an),
    negativeTtl,
    message: msg,
    ede: extendedErrors(msg, off, ar),
  };
}

/** The info codes of the EDE options (code 15) of the OPT record among the `count` additional records at `off`. */
function extendedErrors(msg: Buffer, off: number, count: number): number[] {
  const codes: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      off = skipName(msg, off);
      if (off + 10 > msg.length) break;
      const type = msg.readUInt16BE(off);
      const rdlen = msg.readUInt16BE(off + 8);
      const end = off + 10 + rdlen;
      if (type === QTYPE.OPT)
        for (let o = off + 10; o + 4 <= end;) {
          const [code, len] = [msg.readUInt16BE(o), msg.readUInt16BE(o + 2)];
          if (code === 15 && len >= 2) codes.push(msg.readUInt16BE(o + 4));
          o += 4 + len;
        }
      off = end;
    }
  } catch {
    // A malformed additional section says nothing about the answer.
  }
  return codes;
}

/**
 * A TXT record's character-strings, read from the message in place, as latin1 text: one character per byte, so any
 * bytes pass intact, and a string costs less than a Buffer view (a million-key listing has millions).
 */
export function txtTexts(msg: Buffer, off: number, length: number): string[] {
  const out: string[] = [];
  const end = off + length;
  while (off < end) {
    const len = msg[off]!;
    if (off + 1 + len > end) throw new MalformedResponse('bad TXT string');
    out.push(msg.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  return out;
}
