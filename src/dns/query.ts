/**
 * Parses an incoming DNS query without trusting any of it. The question name is kept as an array of
 * raw label Buffers (a label may contain '.', ';' or any byte), and the raw question bytes are kept so
 * the answer can echo them verbatim (preserving the client's 0x20 case randomisation).
 */
import { HEADER_LEN, MAX_LABEL, MAX_NAME, QTYPE } from './constants.js';

export interface Edns {
  udpSize: number;
  version: number;
  /** DNSSEC OK: echoed in the answer's OPT (RFC 3225), though no answer is signed. */
  do: boolean;
}

export interface Query {
  id: number;
  /** Recursion desired, echoed back. */
  rd: boolean;
  /** Checking disabled, echoed back. */
  cd: boolean;
  labels: Buffer[];
  qtype: number;
  qclass: number;
  /** Question section bytes (name, type, class) exactly as received. */
  question: Buffer;
  edns?: Edns;
}

/**
 * Why a packet is not a usable query: 'ignore' gets no answer at all; the others an error answer built from their
 * header fields, with an OPT record when the packet's own could be read.
 */
export type Rejection =
  { kind: 'ignore'; reason: 'short' | 'response' } | { kind: 'formerr' | 'notimp'; reason: string; id: number; opcode: number; rd: boolean; edns?: Edns };

export type ParseResult = { ok: true; query: Query } | { ok: false; rejection: Rejection };

function rejected(msg: Buffer, kind: 'formerr' | 'notimp', reason: string): ParseResult {
  const flags = msg.readUInt16BE(2);
  const edns = findOpt(msg);
  return {
    ok: false,
    rejection: { kind, reason, id: msg.readUInt16BE(0), opcode: (flags >> 11) & 0xf, rd: (flags & 0x0100) !== 0, ...(edns ? { edns } : {}) },
  };
}

const formerr = (msg: Buffer, reason: string) => rejected(msg, 'formerr', reason);

/** The EDNS fields of an OPT record whose fixed part starts at `at` (its TYPE). */
function ednsAt(msg: Buffer, at: number): Edns {
  return { udpSize: msg.readUInt16BE(at + 2), version: msg[at + 5]!, do: (msg[at + 6]! & 0x80) !== 0 };
}

/** The OPT record of a packet that is not a usable query, if the packet can be read that far; never throws. */
function findOpt(msg: Buffer): Edns | undefined {
  let off = HEADER_LEN;
  for (let i = msg.readUInt16BE(4); i > 0; i--) {
    off = skipName(msg, off);
    if (off < 0 || (off += 4) > msg.length) return undefined;
  }
  for (let i = msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10); i > 0; i--) {
    const owner = off;
    off = skipName(msg, off);
    if (off < 0 || off + 10 > msg.length) return undefined;
    if (msg.readUInt16BE(off) === QTYPE.OPT && msg[owner] === 0) return ednsAt(msg, off);
    off += 10 + msg.readUInt16BE(off + 8);
  }
  return undefined;
}

/** Skips a (possibly compressed) name in a resource record; returns the offset after it or -1. */
function skipName(msg: Buffer, off: number): number {
  for (let guard = 0; guard < 128; guard++) {
    if (off >= msg.length) return -1;
    const len = msg[off]!;
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= msg.length ? off + 2 : -1;
    if (len > MAX_LABEL) return -1;
    off += 1 + len;
  }
  return -1;
}

export function parseQuery(msg: Buffer): ParseResult {
  if (msg.length < HEADER_LEN) return { ok: false, rejection: { kind: 'ignore', reason: 'short' } };
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) return { ok: false, rejection: { kind: 'ignore', reason: 'response' } };
  const opcode = (flags >> 11) & 0xf;
  const rd = (flags & 0x0100) !== 0;
  if (opcode !== 0) return rejected(msg, 'notimp', `opcode ${opcode}`);
  const qdcount = msg.readUInt16BE(4);
  if (qdcount !== 1) return formerr(msg, `QDCOUNT ${qdcount}`);

  const labels: Buffer[] = [];
  let off = HEADER_LEN;
  let nameLen = 1;
  for (;;) {
    if (off >= msg.length) return formerr(msg, 'truncated question name');
    const len = msg[off]!;
    if (len === 0) {
      off++;
      break;
    }
    // A query has nothing earlier to point to; rejecting pointers also rules out pointer loops.
    if (len > MAX_LABEL) return formerr(msg, (len & 0xc0) === 0xc0 ? 'compression pointer in question' : `label length ${len} > 63`);
    nameLen += len + 1;
    if (nameLen > MAX_NAME) return formerr(msg, 'name longer than 255 bytes');
    if (off + 1 + len > msg.length) return formerr(msg, 'truncated label');
    labels.push(msg.subarray(off + 1, off + 1 + len));
    off += 1 + len;
  }
  if (off + 4 > msg.length) return formerr(msg, 'truncated question type/class');
  const qtype = msg.readUInt16BE(off);
  const qclass = msg.readUInt16BE(off + 2);
  off += 4;
  const question = msg.subarray(HEADER_LEN, off);

  // Walk answer/authority/additional looking for the OPT record.
  const rrcount = msg.readUInt16BE(6) + msg.readUInt16BE(8) + msg.readUInt16BE(10);
  let edns: Edns | undefined;
  for (let i = 0; i < rrcount; i++) {
    const nameStart = off;
    off = skipName(msg, off);
    if (off < 0 || off + 10 > msg.length) return formerr(msg, 'truncated resource record');
    const type = msg.readUInt16BE(off);
    const rdlen = msg.readUInt16BE(off + 8);
    if (off + 10 + rdlen > msg.length) return formerr(msg, 'truncated rdata');
    if (type === QTYPE.OPT) {
      if (edns) return formerr(msg, 'more than one OPT record');
      if (msg[nameStart] !== 0) return formerr(msg, 'OPT owner is not the root');
      edns = ednsAt(msg, off);
    }
    off += 10 + rdlen;
  }
  return { ok: true, query: { id, rd, cd: (flags & 0x0010) !== 0, labels, qtype, qclass, question, ...(edns ? { edns } : {}) } };
}
