/** One test per row of the outcomes table, with CONFORMANCE off and on, and ENABLE_ERROR_TXT. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, dig, txt, type Decoded } from '../helpers/dns.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';

const SOA = { RKVDNS_FQDN: 'ns1.rkvdns.test', SOA_CONTACT: 'hostmaster.rkvdns.test' };
let redis: TestRedis;
let off: TestRkvdns;
let on: TestRkvdns;
let noSoa: TestRkvdns;
let errTxt: TestRkvdns;

beforeAll(async () => {
  redis = await startRedis();
  await redis.client.set('k', 'v');
  await redis.client.sadd('aset', 'm');
  for (let i = 0; i < 400; i++) await redis.client.set(`big;${i};${'x'.repeat(150)}`, '1');
  [off, on, noSoa, errTxt] = await Promise.all([
    startRkvdns(redis.url, { ...SOA, MIN_TTL: 7 }),
    startRkvdns(redis.url, { ...SOA, CONFORMANCE: true }),
    startRkvdns(redis.url, {}),
    startRkvdns(redis.url, { ...SOA, ENABLE_ERROR_TXT: true }),
  ]);
});

afterAll(async () => {
  await Promise.all([off, on, noSoa, errTxt].map((s) => s?.stop()));
  await redis?.stop();
});

const hasSoa = (d: Decoded) => (d.authorities ?? []).some((a) => a.type === 'SOA');
const shape = (d: Decoded) => `${d.rcode}${(d.answers ?? []).length ? ' +answer' : ''}${hasSoa(d) ? ' +SOA' : ''}`;
/** A name ending in '.' is absolute; others are relative to the zone. */
const z = (n: string) => (n.endsWith('.') ? n.slice(0, -1) : n ? `${n}.${ZONE}` : ZONE);

// [row, name, type, transport, CONFORMANCE off, CONFORMANCE on]
const ROWS: [string, string, string, boolean, string, string][] = [
  ['name not in our zone', 'k.get.other.test.', 'TXT', false, 'NXDOMAIN +SOA', 'NOERROR'],
  ['bare zone, SOA', '', 'SOA', false, 'NOERROR +answer', 'NOERROR +answer'],
  ['bare zone, NS', '', 'NS', false, 'NOERROR +answer', 'NOERROR +answer'],
  ['bare zone, other type', '', 'TXT', false, 'FORMERR', 'NOERROR +SOA'],
  ['type not A/AAAA/TXT, several labels', 'k.get', 'MX', false, 'NOTIMP', 'NOERROR +SOA'],
  ['type not A/AAAA/TXT, one operator label', 'get', 'MX', false, 'NOTIMP', 'NOERROR +SOA'],
  ['type not A/AAAA/TXT, one other label', 'www', 'MX', false, 'NOTIMP', 'NXDOMAIN +SOA'],
  ['parameter error: wrong label count', 'a.b.get', 'TXT', false, 'FORMERR', 'NOERROR +SOA'],
  ['parameter error: operator alone', 'get', 'TXT', false, 'FORMERR', 'NOERROR +SOA'],
  ['operand error: unknown operator', 'k.frob', 'TXT', false, 'FORMERR', 'NXDOMAIN +SOA'],
  ['syntax error: bad index', 'x.l.lindex', 'TXT', false, 'FORMERR', 'NXDOMAIN +SOA'],
  ['syntax error: shards without capture', 'a\\;b.shards', 'TXT', false, 'FORMERR', 'NXDOMAIN +SOA'],
  ['key does not exist', 'nokey.get', 'TXT', false, 'NXDOMAIN +SOA', 'NXDOMAIN +SOA'],
  ['pattern matches nothing', 'nothing*.keys', 'TXT', false, 'NOERROR +SOA', 'NOERROR +SOA'],
  ['empty set', 'noset.smembers', 'TXT', false, 'NOERROR +SOA', 'NOERROR +SOA'],
  ['Redis error: wrong type', 'aset.get', 'TXT', false, 'SERVFAIL', 'SERVFAIL'],
  ['answer larger than MAX_TCP_PAYLOAD', 'big\\;*.keys', 'TXT', true, 'SERVFAIL', 'SERVFAIL'],
];

describe.each(ROWS)('%s', (_row, name, type, tcp, expectOff, expectOn) => {
  it(`CONFORMANCE off → ${expectOff}`, async () => {
    expect(shape(await ask(off.port, z(name), type, { tcp }))).toBe(expectOff);
  });
  it(`CONFORMANCE on → ${expectOn}`, async () => {
    expect(shape(await ask(on.port, z(name), type, { tcp }))).toBe(expectOn);
  });
});

describe('zone apex records', () => {
  it('SOA and NS are synthesised from RKVDNS_FQDN and SOA_CONTACT', async () => {
    const soa = (await ask(off.port, ZONE, 'SOA')).answers![0]!;
    expect(soa).toMatchObject({
      name: ZONE,
      ttl: 30,
      data: { mname: 'ns1.rkvdns.test', rname: 'hostmaster.rkvdns.test', serial: 1, refresh: 3600, retry: 3600, expire: 86400, minimum: 7 },
    });
    expect((await ask(off.port, ZONE, 'NS')).answers![0]).toMatchObject({ name: ZONE, ttl: 30, data: 'ns1.rkvdns.test' });
  });

  it('the SOA in a negative answer is the zone SOA', async () => {
    const d = await ask(off.port, z('nokey.get'), 'TXT');
    expect(d.authorities![0]).toMatchObject({ name: ZONE, type: 'SOA' });
  });
});

describe('without RKVDNS_FQDN/SOA_CONTACT', () => {
  it.each([
    ['NXDOMAIN case', 'nokey.get', 'TXT'],
    ['empty case', 'nothing*.keys', 'TXT'],
    ['SOA query', '', 'SOA'],
  ])('%s answers SERVFAIL', async (_c, name, type) => {
    expect((await ask(noSoa.port, z(name), type)).rcode).toBe('SERVFAIL');
  });
  it('positive answers are unaffected', async () => {
    expect(txt(await ask(noSoa.port, z('k.get'), 'TXT'))).toEqual([['v']]);
  });
});

describe('ENABLE_ERROR_TXT', () => {
  // The original's texts, which its clients match on, come first; ours may follow.
  it.each([
    ['a.b.get', 'TXT', false, /^Parameter error: RedisParameterError\(\): /],
    ['k.frob', 'TXT', false, /^Parameter error: RedisOperandError\(\): unknown operator 'frob'/],
    ['x.l.lindex', 'TXT', false, /^Parameter error: RedisSyntaxError\(\): /],
    ['aset.get', 'TXT', false, /^Query failure: WRONGTYPE/],
    ['nokey.get', 'TXT', false, /^Key or zone not found\.$/],
    ['k.get', 'MX', false, /^Disallowed qtype: MX$/],
    ['k.get.other.test.', 'TXT', false, /^Not our ZONE\.$/],
    ['', 'TXT', false, /^Operation not specified\.$/],
    ['big\\;*.keys', 'TXT', true, /^TCP payload size exceeded$/],
  ])('%s %s (dig) → CNAME to <digits>.error.<zone> and the text', async (name, type, tcp, text) => {
    const out = await dig(errTxt.port, z(name), type, ...(tcp ? ['+tcp'] : []));
    expect(out).toMatch(/status: NOERROR/);
    const answer = out.split(';; ANSWER SECTION:\n')[1]!.split('\n\n')[0]!.split('\n');
    const cname = /\sIN\s+CNAME\s+(\d+\.error\.\S+)$/.exec(answer[0]!);
    expect(cname?.[1]).toMatch(new RegExp(`^\\d+\\.error\\.${ZONE.replace('.', '\\.')}\\.$`));
    const record = /^(\S+)\s+\d+\s+IN\s+TXT\s+"(.*)"$/.exec(answer[1]!);
    expect(record?.[1]).toBe(cname?.[1]);
    expect(record?.[2]).toMatch(text);
  });

  it('a key not found keeps the SOA the original refers to, records at DEFAULT_TTL; values are unaffected', async () => {
    const notFound = await ask(errTxt.port, z('nokey.get'), 'TXT');
    expect(shape(notFound)).toBe('NOERROR +answer +SOA');
    expect(notFound.answers!.map((a) => a.ttl)).toEqual([30, 30]);
    expect(shape(await ask(errTxt.port, z('k.frob'), 'TXT'))).toBe('NOERROR +answer');
    expect(txt(await ask(errTxt.port, z('k.get'), 'TXT'))).toEqual([['v']]);
  });

  it('errors are logged with the query name and the client address', () => {
    expect(errTxt.proc.output()).toMatch(/k\.frob\.rkvdns\.test\. from 127\.0\.0\.1#\d+: Parameter error: RedisOperandError\(\)/);
  });
});
