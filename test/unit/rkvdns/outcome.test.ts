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
  { outcome: { kind: 'badtype', qtype: 15, maybeOperator: true }, settings: withSoa, rcode: 'NOTIMP' },
  { outcome: { kind: 'badtype', qtype: 15, maybeOperator: true }, settings: { ...withSoa, CONFORMANCE: true }, rcode: 'NOERROR', authority: ['SOA'] },
  { outcome: { kind: 'badtype', qtype: 15, maybeOperator: false }, settings: { ...withSoa, CONFORMANCE: true }, rcode: 'NXDOMAIN', authority: ['SOA'] },
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

  // With ENABLE_ERROR_TXT: the original's text for each outcome it gives one to, or the plain answer.
  const texts: { outcome: Outcome; settings?: Record<string, unknown>; text: string | null }[] = [
    {
      outcome: { kind: 'error', error: 'parameter', message: 'wrong number of labels' },
      text: 'Parameter error: RedisParameterError(): wrong number of labels',
    },
    { outcome: { kind: 'error', error: 'operand', message: "unknown operator 'frob'" }, text: "Parameter error: RedisOperandError(): unknown operator 'frob'" },
    { outcome: { kind: 'error', error: 'syntax', message: 'bad index' }, text: 'Parameter error: RedisSyntaxError(): bad index' },
    { outcome: { kind: 'error', error: 'redis', message: 'WRONGTYPE x' }, text: 'Query failure: WRONGTYPE x' },
    {
      outcome: { kind: 'error', error: 'toomany', message: 'pattern matches more than MAX_KEYS (9) keys' },
      text: 'Query failure: pattern matches more than MAX_KEYS (9) keys',
    },
    { outcome: { kind: 'error', error: 'toolarge', message: '' }, text: 'TCP payload size exceeded' },
    { outcome: { kind: 'nxdomain' }, text: 'Key or zone not found.' },
    { outcome: { kind: 'nxdomain' }, settings: { CONFORMANCE: true }, text: 'Key or zone not found.' },
    { outcome: { kind: 'outside' }, text: 'Not our ZONE.' },
    { outcome: { kind: 'outside' }, settings: { CONFORMANCE: true }, text: null },
    { outcome: { kind: 'apex', qtype: QTYPE.TXT }, text: 'Operation not specified.' },
    { outcome: { kind: 'apex', qtype: QTYPE.SOA }, text: null },
    { outcome: { kind: 'apex', qtype: QTYPE.NS }, settings: { RKVDNS_FQDN: null }, text: 'NS not available' },
    { outcome: { kind: 'badtype', qtype: 15, maybeOperator: true }, text: 'Disallowed qtype: MX' },
    { outcome: { kind: 'badtype', qtype: 65280, maybeOperator: true }, text: 'Disallowed qtype: TYPE65280' },
    { outcome: { kind: 'badtype', qtype: 15, maybeOperator: true }, settings: { CONFORMANCE: true }, text: null },
    { outcome: { kind: 'error', error: 'operand', message: 'x' }, settings: { CONFORMANCE: true }, text: null },
    { outcome: { kind: 'error', error: 'redis', message: 'down' }, settings: { CONFORMANCE: true }, text: 'Query failure: down' },
    { outcome: records, settings: { RKVDNS_FQDN: null }, text: 'SOA not available' },
    { outcome: records, text: null },
  ];
  for (const c of texts) {
    it(`ENABLE_ERROR_TXT, ${c.outcome.kind}${'error' in c.outcome ? `/${c.outcome.error}` : ''} ${JSON.stringify(c.settings ?? {})} → ${c.text ?? 'no text'}`, () => {
      const got = sent(c.outcome, { ...withSoa, ENABLE_ERROR_TXT: true, ...c.settings });
      if (c.text === null) return void expect(got.answers).not.toContain('CNAME');
      expect(got.rcode).toBe('NOERROR');
      expect(got.answers).toEqual(['CNAME', 'TXT']);
      expect((got.text as Buffer[]).map(String)).toEqual([c.text]);
    });
  }

  it('with ENABLE_ERROR_TXT the text names the error and what failed', () => {
    const got = sent({ kind: 'error', error: 'redis', message: 'connection lost' }, { ...withSoa, ENABLE_ERROR_TXT: true });
    expect(String(got.text)).toMatch(/connection lost/);
  });
});
