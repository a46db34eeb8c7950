/** The client's answer decoder against messages encoded by dns-packet: the records in place, by number. */
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { QTYPE } from '../../../src/dns/constants.js';
import { decodeResponse, MalformedResponse, txtTexts } from '../../../src/dns/response.js';

const NAME = '0of2.web;*;*.shget.rkvdns.test';
const txt = (ttl: number, ...strings: string[]) => ({ type: 'TXT' as const, name: NAME, ttl, data: strings.map((s) => Buffer.from(s, 'latin1')) });

function encoded(answers: dnsPacket.Answer[], authorities: dnsPacket.Answer[] = []): Buffer {
  return dnsPacket.encode({ type: 'response', id: 7, flags: dnsPacket.RECURSION_AVAILABLE, questions: [{ type: 'TXT', name: NAME }], answers, authorities });
}

describe('decodeResponse', () => {
  it('reads each answer record: type, TTL (all 32 bits), and where its rdata is', () => {
    // A TTL over 2^31 must not come back negative; a CNAME among the TXT records keeps its own type.
    const msg = encoded([txt(30, 'a', '1'), { type: 'CNAME', name: NAME, ttl: 5, data: 'other.test' }, txt(2 ** 32 - 1, 'bb', '22')]);
    const r = decodeResponse(msg);
    expect([r.id, r.ra, r.tc]).toEqual([7, true, false]);
    const rec = r.answers;
    expect(rec.count).toBe(3);
    expect([0, 1, 2].map((i) => rec.type(i))).toEqual([QTYPE.TXT, QTYPE.CNAME, QTYPE.TXT]);
    expect([0, 1, 2].map((i) => rec.ttl(i))).toEqual([30, 5, 2 ** 32 - 1]);
    expect(txtTexts(msg, rec.rdataOffset(0), rec.rdataLength(0))).toEqual(['a', '1']);
    expect(txtTexts(msg, rec.rdataOffset(2), rec.rdataLength(2))).toEqual(['bb', '22']);
    expect(rec.minTtl()).toBe(5);
  });

  it('ofType: the records of one type, the same object when all are of it', () => {
    const mixed = decodeResponse(encoded([txt(30, 'a'), { type: 'A', name: NAME, ttl: 9, data: '10.0.0.1' }, txt(20, 'c')]));
    const only = mixed.answers.ofType(QTYPE.TXT);
    expect(only.count).toBe(2);
    expect([only.ttl(0), only.ttl(1)]).toEqual([30, 20]);
    expect(txtTexts(mixed.message, only.rdataOffset(1), only.rdataLength(1))).toEqual(['c']);
    expect(only.minTtl()).toBe(20);
    expect(mixed.answers.ofType(QTYPE.AAAA).count).toBe(0);
    expect(mixed.answers.ofType(QTYPE.AAAA).minTtl()).toBe(Infinity);
    const all = decodeResponse(encoded([txt(30, 'a'), txt(30, 'b')])).answers;
    expect(all.ofType(QTYPE.TXT)).toBe(all);
  });

  it('a negative answer: no records, and the SOA minimum as the negative TTL', () => {
    const soa = {
      type: 'SOA' as const,
      name: 'rkvdns.test',
      ttl: 60,
      data: { mname: 'ns.rkvdns.test', rname: 'hm.rkvdns.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 15 },
    };
    const r = decodeResponse(encoded([], [soa]));
    expect(r.answers.count).toBe(0);
    expect(r.negativeTtl).toBe(15);
  });

  it('a record cut short is malformed, not read past the message', () => {
    const msg = encoded([txt(30, 'abc', 'def')]);
    expect(() => decodeResponse(msg.subarray(0, msg.length - 2))).toThrow(MalformedResponse);
  });
});
