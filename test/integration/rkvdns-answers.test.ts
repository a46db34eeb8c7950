/** Raw-byte labels, answer types, TTLs, case folding and transport limits, over real sockets. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, buildQuery, decode, dig, sendTcp, txt } from '../helpers/dns.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';

let redis: TestRedis;
let plain: TestRkvdns; // CASE_FOLDING none
let tuned: TestRkvdns; // escape folding, partial values, small payloads, TTL clamps

const BINARY_KEY = Buffer.from([0x00, 0xff, 0x2e, 0x3b, 0x80, 0x41]);
const BIG = 'v'.repeat(300);

beforeAll(async () => {
  redis = await startRedis();
  const c = redis.client;
  await c.set(BINARY_KEY, Buffer.from([0xfe, 0x00, 0x01]));
  await c.set('ttl-key', 'x', 'EX', 1000);
  await c.set('short-ttl', 'x', 'EX', 2);
  await c.set('forever', 'x');
  await c.set('num', '16909060');
  await c.set('v4', '10.1.2.3');
  await c.set('v6', '2001:db8::1');
  await c.set('word', 'hello');
  await c.set('big', BIG);
  await c.set('tests_foLD_eScApe', 'escaped');
  await c.set('MixedCase', 'upper-or-lower?');
  await c.sadd('addrs', '1.2.3.4', '5', 'not-an-address', '::1');
  await c.sadd('dups', 'a', 'b');
  for (let i = 0; i < 60; i++) await c.set(`many;${String(i).padStart(3, '0')}`, String(i));
  for (let i = 0; i < 400; i++) await c.set(`huge;${String(i).padStart(4, '0')};${'p'.repeat(150)}`, '1');
  plain = await startRkvdns(redis.url, { CASE_FOLDING: 'none', RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test' });
  tuned = await startRkvdns(redis.url, {
    CASE_FOLDING: 'escape',
    RETURN_PARTIAL_VALUE: true,
    MAX_VALUE_PAYLOAD: 100,
    MIN_TTL: 10,
    MAX_TTL: 300,
    DEFAULT_TTL: 40,
    ALL_QUERIES_AS_TXT: true,
    RETURN_PARTIAL_TCP: true,
    MAX_UDP_PAYLOAD: 900,
    MAX_TCP_PAYLOAD: 30000,
  });
});

afterAll(async () => {
  await plain?.stop();
  await tuned?.stop();
  await redis?.stop();
});

const zoneLabels = ZONE.split('.').map((s) => Buffer.from(s));

describe('labels are raw bytes', () => {
  it('a key with NUL, 0xff, dot and semicolon round-trips through get', async () => {
    const d = await ask(plain.port, [BINARY_KEY, Buffer.from('get'), ...zoneLabels], 'TXT');
    expect(d.rcode).toBe('NOERROR');
    expect((d.answers![0]!.data as Buffer[])[0]).toEqual(Buffer.from([0xfe, 0x00, 0x01]));
    // The question is echoed byte for byte.
    expect(d.raw.subarray(12, 12 + 1 + BINARY_KEY.length)).toEqual(Buffer.concat([Buffer.from([BINARY_KEY.length]), BINARY_KEY]));
  });

  it('the same key comes back from keys with its bytes intact', async () => {
    const d = await ask(plain.port, [Buffer.from([0x00, 0xff, 0x2a]), Buffer.from('keys'), ...zoneLabels], 'TXT');
    expect(d.answers!.map((a) => (a.data as Buffer[])[0])).toEqual([BINARY_KEY]);
  });

  it('dig sends 10\\.0\\.0\\.224\\;*\\;flow as one label and accepts the echoed question', async () => {
    await redis.client.set('10.0.0.224;x;flow', '1');
    const out = await dig(plain.port, '+norec', `10\\.0\\.0\\.224\\;*\\;flow.keys.${ZONE}`, 'TXT');
    expect(out).toContain('"10.0.0.224;x;flow"');
    expect(out).not.toMatch(/mismatch|WARNING/);
  });
});

describe('answer types', () => {
  it('A from integers and dotted quads', async () => {
    expect((await ask(plain.port, `num.get.${ZONE}`, 'A')).answers![0]!.data).toBe('1.2.3.4');
    expect((await ask(plain.port, `v4.get.${ZONE}`, 'A')).answers![0]!.data).toBe('10.1.2.3');
  });

  it('AAAA from text addresses and integers', async () => {
    expect((await ask(plain.port, `v6.get.${ZONE}`, 'AAAA')).answers![0]!.data).toBe('2001:db8::1');
    expect((await ask(plain.port, `num.get.${ZONE}`, 'AAAA')).answers![0]!.data).toBe('::102:304');
  });

  it('values that are not addresses are left out; an answer left empty is NOERROR with the SOA', async () => {
    const d = await ask(plain.port, `addrs.smembers.${ZONE}`, 'A');
    expect(d.answers!.map((a) => a.data).sort()).toEqual(['0.0.0.5', '1.2.3.4']);
    const w = await ask(plain.port, `word.get.${ZONE}`, 'A');
    expect(w.rcode).toBe('NOERROR');
    expect(w.answers).toHaveLength(0);
    expect(w.authorities![0]!.type).toBe('SOA');
  });

  it('ALL_QUERIES_AS_TXT answers an MX query with TXT', async () => {
    const d = await ask(tuned.port, `%^~word.get.${ZONE}`, 'MX');
    expect(d.answers![0]!.type).toBe('TXT');
  });

  it('integers answer as decimal text', async () => {
    expect(txt(await ask(plain.port, `dups.scard.${ZONE}`, 'TXT'))).toEqual([['2']]);
  });

  it('a value over MAX_VALUE_PAYLOAD is dropped, or cut with RETURN_PARTIAL_VALUE', async () => {
    const dropped = await ask(plain.port, `big.get.${ZONE}`, 'TXT');
    expect(dropped.rcode).toBe('NOERROR');
    expect(dropped.answers).toHaveLength(0);
    expect(txt(await ask(tuned.port, `%^~big.get.${ZONE}`, 'TXT'))).toEqual([['v'.repeat(100)]]);
  });

  it('in a shget record, a value over MAX_VALUE_PAYLOAD is dropped or cut the same way, its captures kept', async () => {
    expect(txt(await ask(plain.port, `bi*.shget.${ZONE}`, 'TXT'))).toEqual([['g']]);
    expect(txt(await ask(tuned.port, `%^~bi*.shget.${ZONE}`, 'TXT'))).toEqual([['g', 'v'.repeat(100)]]);
  });

  it('identical records appear once', async () => {
    await redis.client.rpush('dup-list', 'same', 'same', 'other');
    expect(txt(await ask(plain.port, `dup-list.llen.${ZONE}`, 'TXT'))).toEqual([['3']]);
    expect(txt(await ask(plain.port, `:.dup-list.lrange.${ZONE}`, 'TXT'))).toEqual([['same'], ['other']]);
  });
});

describe('TTLs', () => {
  it('a key TTL is propagated; no expiry and key lists use DEFAULT_TTL', async () => {
    const t = (await ask(plain.port, `ttl-key.get.${ZONE}`, 'TXT')).answers![0]!.ttl!;
    expect(t).toBeGreaterThan(990);
    expect(t).toBeLessThanOrEqual(1000);
    expect((await ask(plain.port, `forever.get.${ZONE}`, 'TXT')).answers![0]!.ttl).toBe(30);
    expect((await ask(plain.port, `many\\;00*.keys.${ZONE}`, 'TXT')).answers![0]!.ttl).toBe(30);
  });

  it('every TTL is clamped to [MIN_TTL, MAX_TTL]', async () => {
    expect((await ask(tuned.port, `%^~ttl-key.get.${ZONE}`, 'TXT')).answers![0]!.ttl).toBe(300);
    expect((await ask(tuned.port, `%^~short-ttl.get.${ZONE}`, 'TXT')).answers![0]!.ttl).toBe(10);
    expect((await ask(tuned.port, `%^~forever.get.${ZONE}`, 'TXT')).answers![0]!.ttl).toBe(40);
  });
});

describe('case folding', () => {
  it('escape mode: the specification example', async () => {
    expect(txt(await ask(tuned.port, `\\.+-tests\\._-F-O\\.LD_\\.e+s-c+ape.get.${ZONE}`, 'TXT'))).toEqual([['escaped']]);
  });

  it('none keeps case; lower (the default) folds it', async () => {
    expect(txt(await ask(plain.port, `MixedCase.get.${ZONE}`, 'TXT'))).toEqual([['upper-or-lower?']]);
    const lower = await startRkvdns(redis.url, { RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test' });
    try {
      expect((await ask(lower.port, `MixedCase.get.${ZONE}`, 'TXT')).rcode).toBe('NXDOMAIN');
      const upper = await startRkvdns(redis.url, { CASE_FOLDING: 'upper' });
      try {
        await redis.client.set('SHOUT', 'yes');
        expect(txt(await ask(upper.port, `shout.get.${ZONE}`, 'TXT'))).toEqual([['yes']]);
      } finally {
        await upper.stop();
      }
    } finally {
      await lower.stop();
    }
  });
});

describe('transport and sizes', () => {
  it('without EDNS a UDP answer stays within 512 bytes, TC=1, whole records kept, no OPT', async () => {
    const d = await ask(plain.port, `many\\;*.keys.${ZONE}`, 'TXT');
    expect(d.raw.length).toBeLessThanOrEqual(512);
    expect(d.flag_tc).toBe(true);
    expect(d.answers!.length).toBeGreaterThan(10);
    expect(d.answers!.length).toBeLessThan(60);
    expect(d.additionals ?? []).toHaveLength(0);
  });

  it('with EDNS the limit is min(requested, MAX_UDP_PAYLOAD), advertised back in the OPT', async () => {
    const d = await ask(plain.port, `many\\;*.keys.${ZONE}`, 'TXT', { edns: 4096 });
    expect(d.raw.length).toBeLessThanOrEqual(1200);
    expect(d.raw.length).toBeGreaterThan(900);
    expect(d.flag_tc).toBe(true);
    const opt = d.additionals!.find((a) => a.type === 'OPT') as { udpPayloadSize: number } | undefined;
    expect(opt?.udpPayloadSize).toBe(1200);
    const small = await ask(plain.port, `many\\;*.keys.${ZONE}`, 'TXT', { edns: 100 });
    expect(small.raw.length).toBeLessThanOrEqual(512);
    const tunedAns = await ask(tuned.port, `%^~many\\;*.keys.${ZONE}`, 'TXT', { edns: 4096 });
    expect(tunedAns.raw.length).toBeLessThanOrEqual(900);
  });

  it('a shget over UDP holds the first records of the TCP answer that fit, TC=1 (its values read only that far)', async () => {
    // 60 short records over 512 bytes; a page of 150-byte records over 1,200 (EDNS).
    for (const [name, edns, limit] of [
      [`many\\;*.shget.${ZONE}`, undefined, 512],
      [`0of8.huge\\;*.shget.${ZONE}`, 4096, 1200],
    ] as const) {
      const full = txt(await ask(plain.port, name, 'TXT', { tcp: true }));
      const d = await ask(plain.port, name, 'TXT', edns ? { edns } : {});
      expect(d.flag_tc).toBe(true);
      expect(d.raw.length).toBeLessThanOrEqual(limit);
      const got = txt(d);
      expect(got.length).toBeGreaterThan(3);
      expect(got).toEqual(full.slice(0, got.length));
      // The next record would not have fitted.
      expect(d.raw.length + 12 + full[got.length]!.reduce((n, str) => n + 1 + str.length, 0)).toBeGreaterThan(limit);
    }
  });

  it('the full answer arrives over TCP, AA=1 and RA=0, with OPT when the query had one', async () => {
    const d = await ask(plain.port, `many\\;*.keys.${ZONE}`, 'TXT', { tcp: true, edns: 1232 });
    expect(d.flag_tc).toBe(false);
    expect(d.answers).toHaveLength(60);
    expect((d.additionals ?? []).map((r) => r.type)).toEqual(['OPT']);
    expect(d.flag_aa).toBe(true);
    expect(d.flag_ra).toBe(false);
    const plainTcp = await ask(plain.port, `many\\;*.keys.${ZONE}`, 'TXT', { tcp: true });
    expect(plainTcp.answers).toHaveLength(60);
    expect(plainTcp.additionals ?? []).toHaveLength(0);
  });

  it('several queries on one TCP connection each get their answer', async () => {
    const names = ['num', 'v4', 'word', 'forever'];
    const answers = await sendTcp(
      plain.port,
      names.map((n, i) => buildQuery(`${n}.get.${ZONE}`, 'TXT', { id: 100 + i })),
    );
    const byId = new Map(
      answers.map((a) => {
        const d = decode(a);
        return [d.id, txt(d)[0]![0]];
      }),
    );
    expect([...byId.entries()].sort()).toEqual([
      [100, '16909060'],
      [101, '10.1.2.3'],
      [102, 'hello'],
      [103, 'x'],
    ]);
  });

  it('over MAX_TCP_PAYLOAD: SERVFAIL, or the records that fit with RETURN_PARTIAL_TCP', async () => {
    const full = await ask(plain.port, `huge\\;*.keys.${ZONE}`, 'TXT', { tcp: true });
    expect(full.rcode).toBe('SERVFAIL');
    const partial = await ask(tuned.port, `%^~huge\\;*.keys.${ZONE}`, 'TXT', { tcp: true });
    expect(partial.rcode).toBe('NOERROR');
    expect(partial.flag_tc).toBe(false);
    expect(partial.raw.length).toBeLessThanOrEqual(30000);
    expect(partial.answers!.length).toBeGreaterThan(200);
    expect(partial.answers!.length).toBeLessThan(400);
    const nx = await startRkvdns(redis.url, { NXDOMAIN_FOR_SERVFAIL: true, RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test' });
    try {
      expect((await ask(nx.port, `huge\\;*.keys.${ZONE}`, 'TXT', { tcp: true })).rcode).toBe('NXDOMAIN');
    } finally {
      await nx.stop();
    }
  });

  it('EDNS version 1 gets BADVERS', async () => {
    const d = await ask(plain.port, `num.get.${ZONE}`, 'TXT', { edns: 1232, ednsVersion: 1 });
    const opt = d.additionals!.find((a) => a.type === 'OPT') as { extendedRcode?: number; flags?: number } | undefined;
    expect(opt).toBeDefined();
    expect(d.raw.readUInt8(d.raw.length - 11 + 5)).toBe(1);
    expect(d.answers).toHaveLength(0);
  });
});
