/**
 * Turns Redis values into encoded answer records: value-size limit, TXT/A/AAAA conversion,
 * duplicate removal, TTL clamp.
 */
import { QTYPE } from '../dns/constants.js';
import { QNAME_POINTER, encodeRR, txtRdata } from '../dns/message.js';
import { toA, toAAAA } from './addresses.js';

export interface RenderLimits {
  MAX_VALUE_PAYLOAD: number;
  RETURN_PARTIAL_VALUE: boolean;
  DEFAULT_TTL: number;
  MIN_TTL: number;
  MAX_TTL: number;
}

export interface Rendered {
  rrs: Buffer[];
  /** Values cut or dropped for size, and values that could not be shown as an address. */
  oversize: number;
  unconvertible: number;
}

export function clampTtl(ttl: number | null, s: RenderLimits): number {
  const t = ttl === null || ttl < 0 ? s.DEFAULT_TTL : ttl;
  return Math.min(Math.max(t, s.MIN_TTL), s.MAX_TTL);
}

/** `answerType` is TXT, A or AAAA (callers map ALL_QUERIES_AS_TXT to TXT). */
export function renderRecords(records: readonly Buffer[][], answerType: number, ttl: number, s: RenderLimits): Rendered {
  const rrs: Buffer[] = [];
  // One record (a GET, every counter read) has nothing to be a duplicate of: no Set and no key string for it.
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
    let rdata: Buffer | null;
    if (answerType === QTYPE.TXT) rdata = txtRdata(strings);
    else if (strings.length !== 1) rdata = null;
    else rdata = answerType === QTYPE.A ? toA(strings[0]!) : toAAAA(strings[0]!);
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
