import dnsPacket from 'dns-packet';
import { decode } from '../../helpers/dns.js';
import { describe, expect, it } from 'vitest';
import { QTYPE } from '../../../src/dns/constants.js';
import { QNAME_POINTER, RecordRun, agedAnswer, assemble, cacheLifetime, encodeRR, sizeOf, txtRdata } from '../../../src/dns/message.js';
import { parseQuery } from '../../../src/dns/query.js';
import { answerFor } from '../../../src/rkvdns/outcome.js';
import { buildSettings } from '../../../src/rkvdns/settings.js';

const txt = (ttl: number, v: string) => encodeRR(QNAME_POINTER, QTYPE.TXT, ttl, txtRdata([Buffer.from(v)]));
const settings = buildSettings({ ZONE: 'rkvdns.test', RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test', DEFAULT_TTL: 30, MIN_TTL: 4 });

/** Decodes an answer the way a resolver would, through an independent codec. */
function decoded(ans: Parameters<typeof assemble>[1]) {
  const wire = dnsPacket.encode({ type: 'query', id: 7, questions: [{ name: 'k.get.rkvdns.test', type: 'TXT' }] });
  const parsed = parseQuery(wire);
  if (!parsed.ok) throw new Error('query did not parse');
  return decode(assemble(parsed.query, ans, 65535, { setTcOnDrop: false }).packet);
}

describe('cache lifetime and ageing of encoded answers', () => {
  it('the lifetime is the smallest record TTL', () => {
    expect(cacheLifetime({ rcode: 0, answers: [txt(9, 'a'), txt(4, 'b'), txt(7, 'c')], authority: [] })).toBe(4);
  });

  it('an answer without records has no lifetime of its own', () => {
    expect(cacheLifetime({ rcode: 0, answers: [], authority: [] })).toBeNull();
  });

  it('a negative answer lives as long as the SOA record or its MINIMUM, whichever is less', () => {
    const nx = answerFor({ kind: 'nxdomain' }, settings);
    const soa = decoded(nx).authorities![0]!;
    expect(soa.type).toBe('SOA');
    expect(cacheLifetime(nx)).toBe(Math.min(soa.ttl!, (soa.data as { minimum: number }).minimum));
    expect(cacheLifetime(nx)).toBe(4);
  });

  it('ageing lowers every TTL by the seconds held, answers and authority alike, and leaves the original alone', () => {
    const ans = { rcode: 0 as const, answers: [txt(9, 'a'), txt(4, 'b')], authority: [] };
    const aged = agedAnswer(ans, 3);
    expect(decoded(aged).answers!.map((a) => [a.ttl, String(a.data)])).toEqual([
      [6, 'a'],
      [1, 'b'],
    ]);
    expect(decoded(ans).answers!.map((a) => a.ttl)).toEqual([9, 4]);
    const nx = answerFor({ kind: 'nxdomain' }, settings);
    expect(decoded(agedAnswer(nx, 2)).authorities![0]!.ttl).toBe(28);
  });

  it('ageing never goes below 0', () => {
    expect(decoded(agedAnswer({ rcode: 0, answers: [txt(2, 'a')], authority: [] }, 5)).answers![0]!.ttl).toBe(0);
  });

  it('records owned by a full name (the error CNAME target) are aged too', () => {
    const err = answerFor({ kind: 'error', error: 'syntax', message: 'x' }, buildSettings({ ZONE: 'rkvdns.test', ENABLE_ERROR_TXT: true, DEFAULT_TTL: 10 }));
    const d = decoded(agedAnswer(err, 1));
    expect(d.answers!.map((a) => [a.type, a.ttl])).toEqual([
      ['CNAME', 9],
      ['TXT', 9],
    ]);
  });
});

/** The same records as one run: their bytes back to back, each one's end. */
function runOf(records: Buffer[]): RecordRun {
  let end = 0;
  return new RecordRun(
    Buffer.concat(records),
    Uint32Array.from(records, (r) => (end += r.length)),
  );
}

describe('a run of records (a listing page)', () => {
  const records = Array.from({ length: 40 }, (_, i) => txt(30 + (i % 7), `value-${i}`.repeat(1 + (i % 5))));
  const query = () => {
    const parsed = parseQuery(dnsPacket.encode({ type: 'query', id: 7, questions: [{ name: 'k.get.rkvdns.test', type: 'TXT' }] }));
    if (!parsed.ok) throw new Error('query did not parse');
    return parsed.query;
  };

  it('is sent as the same records would be, whole or cut to any size limit', () => {
    const q = query();
    const full = assemble(q, { rcode: 0, answers: records, authority: [] }, 65535, { setTcOnDrop: true }).packet.length;
    for (let limit = 12 + q.question.length; limit <= full + 1; limit++) {
      const asRecords = assemble(q, { rcode: 0, answers: records, authority: [] }, limit, { setTcOnDrop: true });
      const asRun = assemble(q, { rcode: 0, answers: runOf(records), authority: [] }, limit, { setTcOnDrop: true });
      expect(asRun).toEqual(asRecords);
    }
    expect(sizeOf({ rcode: 0, answers: runOf(records), authority: [] }, 9)).toBe(sizeOf({ rcode: 0, answers: records, authority: [] }, 9));
  });

  it('has the lifetime of its smallest TTL, and ages as records do without changing the original', () => {
    const run = { rcode: 0 as const, answers: runOf(records), authority: [] };
    expect(cacheLifetime(run)).toBe(30);
    const aged = decoded(agedAnswer(run, 31));
    expect(aged.answers!.map((a) => a.ttl)).toEqual(records.map((_, i) => Math.max(0, 30 + (i % 7) - 31)));
    expect(decoded(run).answers!.map((a) => [a.ttl, String(a.data)])).toEqual(
      decoded({ rcode: 0, answers: records, authority: [] }).answers!.map((a) => [a.ttl, String(a.data)]),
    );
  });
});
