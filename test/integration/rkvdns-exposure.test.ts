/** EXPOSE_KEYS: hidden keys read exactly as missing ones through every operator, and listings never show them. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, txt, type Decoded } from '../helpers/dns.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { counter, startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';

const SOA = { RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test' };
let redis: TestRedis;
let exposed: TestRkvdns;
let everything: TestRkvdns;
let bookkeeping: TestRkvdns;

beforeAll(async () => {
  redis = await startRedis();
  const c = redis.client;
  await c.mset('web_a;1', '5', 'web_b;1', '7', 'secret:token', 's3cr3t', 'totalizer-agent:applied:host:1', '9');
  await c.hset('secret:h', 'f', 'v');
  await c.rpush('secret:l', 'x', 'y');
  await c.sadd('secret:s', 'm');
  await c.hset('web_h', 'f', 'v');
  [exposed, everything, bookkeeping] = await Promise.all([
    startRkvdns(redis.url, { ...SOA, EXPOSE_KEYS: 'web_* other_*' }),
    startRkvdns(redis.url, SOA),
    startRkvdns(redis.url, { ...SOA, EXPOSE_KEYS: 'totalizer-agent:*' }),
  ]);
});

afterAll(async () => {
  await Promise.all([exposed, everything, bookkeeping].map((s) => s?.stop()));
  await redis?.stop();
});

/** What a client can observe of an answer: rcode, the records' types and data, and the authority types. */
const seen = (d: Decoded) =>
  JSON.stringify({ rcode: d.rcode, answers: (d.answers ?? []).map((a) => [a.type, a.ttl, String(a.data)]), ns: (d.authorities ?? []).map((a) => a.type) });
const list = async (s: TestRkvdns, name: string) =>
  txt(await ask(s.port, `${name}.${ZONE}`, 'TXT', { tcp: true }))
    .map((r) => r.join('|'))
    .sort();

describe('EXPOSE_KEYS', () => {
  it.each([
    ['get', 'secret\\:token.get', 'nokey.get'],
    ['hget', 'f.secret\\:h.hget', 'f.nokey.hget'],
    ['hkeys', 'secret\\:h.hkeys', 'nokey.hkeys'],
    ['hlen', 'secret\\:h.hlen', 'nokey.hlen'],
    ['lindex', '0.secret\\:l.lindex', '0.nokey.lindex'],
    ['llen', 'secret\\:l.llen', 'nokey.llen'],
    ['lrange', ':.secret\\:l.lrange', ':.nokey.lrange'],
    ['scard', 'secret\\:s.scard', 'nokey.scard'],
    ['smembers', 'secret\\:s.smembers', 'nokey.smembers'],
  ])('%s of a hidden key answers exactly as of a missing key', async (_op, hidden, missing) => {
    const h = await ask(exposed.port, `${hidden}.${ZONE}`, 'TXT');
    const m = await ask(exposed.port, `${missing}.${ZONE}`, 'TXT');
    expect(seen(h)).toBe(seen(m));
    expect(await counter(exposed.port, 'hidden_reads')).toBeGreaterThan(0);
    // The same key is there for a server that serves it.
    expect(seen(await ask(everything.port, `${hidden}.${ZONE}`, 'TXT'))).not.toBe(seen(m));
  });

  it('listings, counts and shard operators show only exposed keys', async () => {
    expect(await list(exposed, '*.keys')).toEqual(['web_a;1', 'web_b;1', 'web_h']);
    expect(await list(exposed, '*.klen')).toEqual(['3']);
    expect(await list(exposed, 'secret*.klen')).toEqual(['0']);
    expect(await list(exposed, 'secret.kplen')).toEqual(['0']);
    expect(await list(exposed, '*\\;*.shards')).toEqual(['web_a|1', 'web_b|1']);
    expect(await list(exposed, '*\\:*.shget')).toEqual([]);
    expect(await list(exposed, '0of2.*.keys').then(async (a) => [...a, ...(await list(exposed, '1of2.*.keys'))].sort())).toEqual([
      'web_a;1',
      'web_b;1',
      'web_h',
    ]);
    expect(await list(exposed, '0of1.*.klen')).toEqual(['3']);
    expect(await counter(exposed.port, 'hidden_listed')).toBeGreaterThan(0);
  });

  it("without it every key is served but the agent's bookkeeping, which a glob naming it brings back", async () => {
    const all = await list(everything, '*.keys');
    expect(all).toContain('secret:token');
    expect(all.some((k) => k.startsWith('totalizer-agent:'))).toBe(false);
    expect(await list(bookkeeping, '*.keys')).toEqual(['totalizer-agent:applied:host:1']);
  });

  it('says at start-up when it is not set, and not when it is', () => {
    expect(everything.proc.output()).toMatch(/WARN .*EXPOSE_KEYS is not set/);
    expect(exposed.proc.output()).not.toMatch(/EXPOSE_KEYS is not set/);
  });
});
