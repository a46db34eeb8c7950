/**
 * One table from "what happened" to the answer sent: rcode, SOA in the authority section, or the
 * error CNAME/TXT pair. It follows the outcomes table of the specification for CONFORMANCE off and on.
 *
 * With ENABLE_ERROR_TXT, every outcome the original RKVDNS gives a text to is answered with the error
 * CNAME/TXT pair instead of its rcode, and the text begins with the original's words, which its clients
 * match on (`Parameter error: RedisOperandError()`, `Key or zone not found.`, …); ours may follow.
 * Outcomes the original answers without a text under CONFORMANCE (qname-minimisation probes) keep
 * their conformant answer.
 */
import { QTYPE, RCODE, typeName, type Rcode } from '../dns/constants.js';
import { QNAME_POINTER, encodeName, encodeRR, labelsOf, txtRdata, type EncodedAnswer, type Records } from '../dns/message.js';
import type { Settings } from './settings.js';

export type ErrorKind = 'parameter' | 'operand' | 'syntax' | 'redis' | 'toomany' | 'toolarge';

export type Outcome =
  /** Records already rendered for the query type; an empty list is a NOERROR "no data" answer. */
  | { kind: 'records'; rrs: Records }
  | { kind: 'nxdomain' }
  | { kind: 'outside' }
  | { kind: 'apex'; qtype: number }
  /** Query type (or class) we do not answer; `maybeOperator` says whether the name looks like one of ours. */
  | { kind: 'badtype'; qtype: number; maybeOperator: boolean }
  | { kind: 'error'; error: ErrorKind; message: string };

/** The original's words for each error, as its exception classes print. */
const ERROR_FORM: Record<ErrorKind, string> = {
  parameter: 'Parameter error: RedisParameterError()',
  operand: 'Parameter error: RedisOperandError()',
  syntax: 'Parameter error: RedisSyntaxError()',
  redis: 'Query failure',
  toomany: 'Query failure',
  toolarge: 'TCP payload size exceeded',
};

/** The error's text: the original's form, then what we know of the cause. */
export function errorText(error: ErrorKind, message: string): string {
  return message && error !== 'toolarge' ? `${ERROR_FORM[error]}: ${message}` : ERROR_FORM[error];
}

/** The texts of the original for outcomes that are not errors of ours. */
const NOT_FOUND_TEXT = 'Key or zone not found.';
const OUTSIDE_TEXT = 'Not our ZONE.';
const NO_OPERATION_TEXT = 'Operation not specified.';
const NO_SOA_TEXT = 'SOA not available';
const NO_NS_TEXT = 'NS not available';

/**
 * The text the original answers this outcome with under ENABLE_ERROR_TXT, and whether the answer refers to
 * the zone's SOA (its negative answers do); null where it answers without one.
 */
function textOf(o: Outcome, s: Settings): { text: string; referral: boolean } | null {
  switch (o.kind) {
    case 'records':
      return null;
    case 'nxdomain':
      return { text: NOT_FOUND_TEXT, referral: true };
    case 'outside':
      return s.CONFORMANCE ? null : { text: OUTSIDE_TEXT, referral: true };
    case 'apex':
      if (o.qtype === QTYPE.NS) return apexOf(s).ns ? null : { text: NO_NS_TEXT, referral: false };
      return s.CONFORMANCE || o.qtype === QTYPE.SOA ? null : { text: NO_OPERATION_TEXT, referral: false };
    case 'badtype':
      return s.CONFORMANCE ? null : { text: `Disallowed qtype: ${typeName(o.qtype)}`, referral: false };
    case 'error':
      if (s.CONFORMANCE && (o.error === 'parameter' || o.error === 'operand' || o.error === 'syntax')) return null;
      return { text: errorText(o.error, o.message), referral: false };
  }
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

/** The empty section of every answer with records: one array for all of them (answers are never changed). */
const NO_RECORDS: readonly Buffer[] = [];
const SERVFAIL: EncodedAnswer = { rcode: RCODE.SERVFAIL, answers: [], authority: [] };
/** SERVFAIL because an answer needs the SOA and none is configured (the original says `SOA not available`). */
const NO_SOA: EncodedAnswer = { rcode: RCODE.SERVFAIL, answers: [], authority: [] };

/** An answer that carries the SOA in its authority section; without an SOA configured it is SERVFAIL. */
function negative(rcode: Rcode, s: Settings): EncodedAnswer {
  const { soa } = apexOf(s);
  return soa ? { rcode, answers: [], authority: [soa] } : NO_SOA;
}

/** NOERROR with a CNAME to `<digits>.error.<zone>` and the text there, at DEFAULT_TTL as the original does. */
function errorTxt(s: Settings, text: string, referral: boolean): EncodedAnswer {
  const digits = Buffer.from(String(Math.floor(Math.random() * 1e9)).padStart(9, '0'));
  const target = encodeName([digits, Buffer.from('error'), ...apexOf(s).zone]);
  const msg = Buffer.from(text).subarray(0, 255);
  const soa = referral ? apexOf(s).soa : null;
  return {
    rcode: RCODE.NOERROR,
    answers: [encodeRR(QNAME_POINTER, QTYPE.CNAME, s.DEFAULT_TTL, target), encodeRR(target, QTYPE.TXT, s.DEFAULT_TTL, txtRdata([msg]))],
    authority: soa ? [soa] : [],
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
  if (s.ENABLE_ERROR_TXT) {
    const t = textOf(o, s);
    if (t) return errorTxt(s, t.text, t.referral);
  }
  const a = plainAnswer(o, s);
  return s.ENABLE_ERROR_TXT && a === NO_SOA ? errorTxt(s, NO_SOA_TEXT, false) : a;
}

function plainAnswer(o: Outcome, s: Settings): EncodedAnswer {
  switch (o.kind) {
    case 'records':
      return o.rrs.length > 0 ? { rcode: RCODE.NOERROR, answers: o.rrs, authority: NO_RECORDS } : negative(RCODE.NOERROR, s);
    case 'nxdomain':
      return negative(RCODE.NXDOMAIN, s);
    case 'outside':
      return s.CONFORMANCE ? { rcode: RCODE.NOERROR, answers: [], authority: [] } : negative(RCODE.NXDOMAIN, s);
    case 'apex': {
      const { soa, ns } = apexOf(s);
      if (o.qtype === QTYPE.SOA) return soa ? { rcode: RCODE.NOERROR, answers: [soa], authority: [] } : NO_SOA;
      if (o.qtype === QTYPE.NS) return ns ? { rcode: RCODE.NOERROR, answers: [ns], authority: [] } : SERVFAIL;
      return s.CONFORMANCE ? negative(RCODE.NOERROR, s) : { rcode: RCODE.FORMERR, answers: [], authority: [] };
    }
    case 'badtype':
      if (!s.CONFORMANCE) return { rcode: RCODE.NOTIMP, answers: [], authority: [] };
      return negative(o.maybeOperator ? RCODE.NOERROR : RCODE.NXDOMAIN, s);
    case 'error':
      return errorAnswer(o.error, s);
  }
}
