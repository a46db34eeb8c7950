/**
 * Decodes DNS answers for the client: rcode, TC, and the answer records with their TTLs and raw rdata.
 * Names may be compressed; pointer chains are bounded so a hostile answer cannot loop.
 */
import { HEADER_LEN, QTYPE } from './constants.js';

/** A record of the answer section, read in place: no Buffer is made for it (a listing page holds a thousand). */
export interface DnsRecord {
  type: number;
  ttl: number;
  /** Where the rdata starts in the message (names inside it may point elsewhere in the message). */
  rdataOffset: number;
  rdataLength: number;
}

export interface Response {
  id: number;
  rcode: number;
  tc: boolean;
  /** Recursion available: the answer came through a recursive resolver, not from rkvdns itself (RA=0). */
  ra: boolean;
  answers: DnsRecord[];
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
  const answers: DnsRecord[] = [];
  let negativeTtl: number | null = null;
  for (let i = 0; i < an + ns; i++) {
    off = skipName(msg, off);
    if (off + 10 > msg.length) throw new MalformedResponse('truncated record');
    const type = msg.readUInt16BE(off);
    const ttl = msg.readUInt32BE(off + 4);
    const rdlen = msg.readUInt16BE(off + 8);
    const rdataOffset = off + 10;
    if (rdataOffset + rdlen > msg.length) throw new MalformedResponse('truncated rdata');
    if (i < an) answers.push({ type, ttl, rdataOffset, rdataLength: rdlen });
    else if (type === QTYPE.SOA && rdlen >= 20) negativeTtl = Math.min(ttl, msg.readUInt32BE(rdataOffset + rdlen - 4));
    off = rdataOffset + rdlen;
  }
  return {
    id: msg.readUInt16BE(0),
    rcode: flags & 0xf,
    tc: (flags & 0x0200) !== 0,
    ra: (flags & 0x0080) !== 0,
    answers,
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
