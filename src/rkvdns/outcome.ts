/**
 * One table from "what happened" to the answer sent: rcode, SOA in the authority section, or the
 * error CNAME/TXT pair. It follows the outcomes table of the specification for CONFORMANCE off and on.
 */
import { QTYPE, RCODE, type Rcode } from '../dns/constants.js';
import { QNAME_POINTER, encodeName, encodeRR, labelsOf, txtRdata, type EncodedAnswer } from '../dns/message.js';
import type { Settings } from './settings.js';

export type ErrorKind = 'parameter' | 'operand' | 'syntax' | 'redis' | 'toomany' | 'toolarge';

export type Outcome =
  /** Records already rendered for the query type; an empty list is a NOERROR "no data" answer. */
  | { kind: 'records'; rrs: Buffer[] }
  | { kind: 'nxdomain' }
  | { kind: 'outside' }
  | { kind: 'apex'; qtype: number }
  /** Query type (or class) we do not answer; `maybeOperator` says whether the name looks like one of ours. */
  | { kind: 'badtype'; maybeOperator: boolean }
  | { kind: 'error'; error: ErrorKind; message: string };

const ERROR_PREFIX: Record<ErrorKind, string> = {
  parameter: 'Parameter error',
  operand: 'Operand error',
  syntax: 'Syntax error',
  redis: 'Redis error',
  toomany: 'Too many keys',
  toolarge: 'TCP payload size exceeded',
};

export function errorText(error: ErrorKind, message: string): string {
  return error === 'toolarge' ? ERROR_PREFIX.toolarge : `${ERROR_PREFIX[error]}: ${message}`;
}

/** Records derived from settings only; built once per settings object. */
interface Apex {
  zone: Buffer[];
  soa: Buffer | null;
  ns: Buffer | null;
}

const apexCache = new WeakMap<Settings, Apex>();

function apexOf(s: Settings): Apex {
  let a = apexCache.get(s);
  if (a) return a;
  const zone = labelsOf(s.ZONE);
  const zoneName = encodeName(zone);
  let soa: Buffer | null = null;
  let ns: Buffer | null = null;
  if (s.RKVDNS_FQDN) ns = encodeRR(zoneName, QTYPE.NS, s.DEFAULT_TTL, encodeName(labelsOf(s.RKVDNS_FQDN)));
  if (s.RKVDNS_FQDN && s.SOA_CONTACT) {
    const nums = Buffer.alloc(20);
    [1, s.MAX_TTL, s.MAX_TTL, 86400, s.MIN_TTL].forEach((n, i) => nums.writeUInt32BE(n >>> 0, i * 4));
    const rdata = Buffer.concat([encodeName(labelsOf(s.RKVDNS_FQDN)), encodeName(labelsOf(s.SOA_CONTACT)), nums]);
    soa = encodeRR(zoneName, QTYPE.SOA, s.DEFAULT_TTL, rdata);
  }
  a = { zone, soa, ns };
  apexCache.set(s, a);
  return a;
}

const SERVFAIL: EncodedAnswer = { rcode: RCODE.SERVFAIL, answers: [], authority: [] };

/** An answer that carries the SOA in its authority section; without an SOA configured it is SERVFAIL. */
function negative(rcode: Rcode, s: Settings): EncodedAnswer {
  const { soa } = apexOf(s);
  return soa ? { rcode, answers: [], authority: [soa] } : SERVFAIL;
}

function errorTxt(s: Settings, text: string): EncodedAnswer {
  const digits = Buffer.from(String(Math.floor(Math.random() * 1e9)).padStart(9, '0'));
  const target = encodeName([digits, Buffer.from('error'), ...apexOf(s).zone]);
  const msg = Buffer.from(text).subarray(0, 255);
  return {
    rcode: RCODE.NOERROR,
    answers: [encodeRR(QNAME_POINTER, QTYPE.CNAME, s.MIN_TTL, target), encodeRR(target, QTYPE.TXT, s.MIN_TTL, txtRdata([msg]))],
    authority: [],
  };
}

function errorAnswer(error: ErrorKind, s: Settings): EncodedAnswer {
  switch (error) {
    case 'parameter':
      return s.CONFORMANCE ? negative(RCODE.NOERROR, s) : { rcode: RCODE.FORMERR, answers: [], authority: [] };
    case 'operand':
    case 'syntax':
      return s.CONFORMANCE ? negative(RCODE.NXDOMAIN, s) : { rcode: RCODE.FORMERR, answers: [], authority: [] };
    case 'redis':
    case 'toomany':
      return SERVFAIL;
    case 'toolarge':
      return s.NXDOMAIN_FOR_SERVFAIL ? negative(RCODE.NXDOMAIN, s) : SERVFAIL;
  }
}

export function answerFor(o: Outcome, s: Settings): EncodedAnswer {
  switch (o.kind) {
    case 'records':
      return o.rrs.length > 0 ? { rcode: RCODE.NOERROR, answers: o.rrs, authority: [] } : negative(RCODE.NOERROR, s);
    case 'nxdomain':
      return negative(RCODE.NXDOMAIN, s);
    case 'outside':
      return s.CONFORMANCE ? { rcode: RCODE.NOERROR, answers: [], authority: [] } : negative(RCODE.NXDOMAIN, s);
    case 'apex': {
      const { soa, ns } = apexOf(s);
      if (o.qtype === QTYPE.SOA) return soa ? { rcode: RCODE.NOERROR, answers: [soa], authority: [] } : SERVFAIL;
      if (o.qtype === QTYPE.NS) return ns ? { rcode: RCODE.NOERROR, answers: [ns], authority: [] } : SERVFAIL;
      return s.CONFORMANCE ? negative(RCODE.NOERROR, s) : { rcode: RCODE.FORMERR, answers: [], authority: [] };
    }
    case 'badtype':
      if (!s.CONFORMANCE) return { rcode: RCODE.NOTIMP, answers: [], authority: [] };
      return negative(o.maybeOperator ? RCODE.NOERROR : RCODE.NXDOMAIN, s);
    case 'error':
      return s.ENABLE_ERROR_TXT ? errorTxt(s, errorText(o.error, o.message)) : errorAnswer(o.error, s);
  }
}
