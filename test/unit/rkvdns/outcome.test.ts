/** The outcome table: each outcome × CONFORMANCE (and the settings that change it) → rcode and sections. */
import * as dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { QTYPE, RCODE_NAME } from '../../../src/dns/constants.js';
import { assemble, labelsOf } from '../../../src/dns/message.js';
import { answerFor, type Outcome } from '../../../src/rkvdns/outcome.js';
import { buildSettings } from '../../../src/rkvdns/settings.js';

const ZONE = 'kv.example';
const withSoa = { ZONE, RKVDNS_FQDN: `ns.${ZONE}`, SOA_CONTACT: `hostmaster.${ZONE}` };
const question = Buffer.concat([Buffer.from([1, 0x78]), ...labelsOf(ZONE).flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0, 0, 16, 0, 1])]);

/** The answer as a client would decode it: rcode, and the types in the answer and authority sections. */
function sent(o: Outcome, settings: Record<string, unknown>) {
  const a = answerFor(o, buildSettings(settings));
  const d = dnsPacket.decode(assemble({ id: 1, rd: false, cd: false, question }, a, 65535, { setTcOnDrop: false }).packet);
  return {
    rcode: RCODE_NAME[a.rcode],
    answers: (d.answers ?? []).map((r) => r.type),
    authority: (d.authorities ?? []).map((r) => r.type),
    text: d.answers?.find((r) => r.type === 'TXT')?.data,
  };
}

const records: Outcome = { kind: 'records', rrs: [] };
const cases: { outcome: Outcome; settings: Record<string, unknown>; rcode: string; answers?: string[]; authority?: string[] }[] = [
  { outcome: records, settings: withSoa, rcode: 'NOERROR', authority: ['SOA'] },
  { outcome: records, settings: { ZONE }, rcode: 'SERVFAIL' },
  { outcome: { kind: 'nxdomain' }, settings: withSoa, rcode: 'NXDOMAIN', authority: ['SOA'] },
  { outcome: { kind: 'nxdomain' }, settings: { ZONE }, rcode: 'SERVFAIL' },
  { outcome: { kind: 'outside' }, settings: withSoa, rcode: 'NXDOMAIN', authority: ['SOA'] },
  { outcome: { kind: 'outside' }, settings: { ...withSoa, CONFORMANCE: true }, rcode: 'NOERROR' },
  { outcome: { kind: 'apex', qtype: QTYPE.SOA }, settings: withSoa, rcode: 'NOERROR', answers: ['SOA'] },
  { outcome: { kind: 'apex', qtype: QTYPE.NS }, settings: withSoa, rcode: 'NOERROR', answers: ['NS'] },
  { outcome: { kind: 'apex', qtype: QTYPE.SOA }, settings: { ZONE }, rcode: 'SERVFAIL' },
  { outcome: { kind: 'apex', qtype: QTYPE.TXT }, settings: withSoa, rcode: 'FORMERR' },
  { outcome: { kind: 'apex', qtype: QTYPE.TXT }, settings: { ...withSoa, CONFORMANCE: true }, rcode: 'NOERROR', authority: ['SOA'] },
  { outcome: { kind: 'badtype', maybeOperator: true }, settings: withSoa, rcode: 'NOTIMP' },
  { outcome: { kind: 'badtype', maybeOperator: true }, settings: { ...withSoa, CONFORMANCE: true }, rcode: 'NOERROR', authority: ['SOA'] },
  { outcome: { kind: 'badtype', maybeOperator: false }, settings: { ...withSoa, CONFORMANCE: true }, rcode: 'NXDOMAIN', authority: ['SOA'] },
  { outcome: { kind: 'error', error: 'parameter', message: '' }, settings: withSoa, rcode: 'FORMERR' },
  { outcome: { kind: 'error', error: 'parameter', message: '' }, settings: { ...withSoa, CONFORMANCE: true }, rcode: 'NOERROR', authority: ['SOA'] },
  { outcome: { kind: 'error', error: 'operand', message: '' }, settings: withSoa, rcode: 'FORMERR' },
  { outcome: { kind: 'error', error: 'syntax', message: '' }, settings: { ...withSoa, CONFORMANCE: true }, rcode: 'NXDOMAIN', authority: ['SOA'] },
  { outcome: { kind: 'error', error: 'redis', message: '' }, settings: { ...withSoa, CONFORMANCE: true }, rcode: 'SERVFAIL' },
  { outcome: { kind: 'error', error: 'toomany', message: '' }, settings: withSoa, rcode: 'SERVFAIL' },
  { outcome: { kind: 'error', error: 'toolarge', message: '' }, settings: withSoa, rcode: 'SERVFAIL' },
  { outcome: { kind: 'error', error: 'toolarge', message: '' }, settings: { ...withSoa, NXDOMAIN_FOR_SERVFAIL: true }, rcode: 'NXDOMAIN', authority: ['SOA'] },
  {
    outcome: { kind: 'error', error: 'redis', message: 'timeout' },
    settings: { ...withSoa, ENABLE_ERROR_TXT: true },
    rcode: 'NOERROR',
    answers: ['CNAME', 'TXT'],
  },
];

describe('answerFor', () => {
  for (const c of cases) {
    const name = `${c.outcome.kind}${'error' in c.outcome ? `/${c.outcome.error}` : ''}${'qtype' in c.outcome ? `/${c.outcome.qtype}` : ''} with ${JSON.stringify({ ...c.settings, ZONE: undefined })} → ${c.rcode}`;
    it(name, () => {
      const got = sent(c.outcome, c.settings);
      expect(got.rcode).toBe(c.rcode);
      expect(got.answers).toEqual(c.answers ?? []);
      expect(got.authority).toEqual(c.authority ?? []);
    });
  }

  it('with ENABLE_ERROR_TXT the text names the error and what failed', () => {
    const got = sent({ kind: 'error', error: 'redis', message: 'connection lost' }, { ...withSoa, ENABLE_ERROR_TXT: true });
    expect(String(got.text)).toMatch(/connection lost/);
  });
});
