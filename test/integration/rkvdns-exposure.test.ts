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
  await c.mset('web_a;1', '5', 'web_b;1', '7', 'secret:token', 's3cr3t', 'totalizer-agent:applied:host:1', '9', 'secret;2', '11', 'hidden;3', '13');
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
/** The records of a listing, each joined by `|`, sorted; the answer must be NOERROR. */
async function list(s: TestRkvdns, name: string): Promise<string[]> {
  const d = await ask(s.port, `${name}.${ZONE}`, 'TXT', { tcp: true });
  expect(d.rcode, `${name} answered ${d.rcode}`).toBe('NOERROR');
  return txt(d)
    .map((r) => r.join('|'))
    .sort();
}

describe('EXPOSE_KEYS', () => {
  it.each([
    ['get', 'secret\\:token.get', 'web_nokey.get'],
    ['hget', 'f.secret\\:h.hget', 'f.web_nokey.hget'],
    ['hkeys', 'secret\\:h.hkeys', 'web_nokey.hkeys'],
    ['hlen', 'secret\\:h.hlen', 'web_nokey.hlen'],
    ['lindex', '0.secret\\:l.lindex', '0.web_nokey.lindex'],
    ['llen', 'secret\\:l.llen', 'web_nokey.llen'],
    ['lrange', ':.secret\\:l.lrange', ':.web_nokey.lrange'],
    ['scard', 'secret\\:s.scard', 'web_nokey.scard'],
    ['smembers', 'secret\\:s.smembers', 'web_nokey.smembers'],
  ])('%s of a hidden key answers exactly as of a missing key, and counts a hidden read', async (_op, hidden, missing) => {
    const before = await counter(exposed.port, 'hidden_reads');
    const h = await ask(exposed.port, `${hidden}.${ZONE}`, 'TXT');
    const afterHidden = await counter(exposed.port, 'hidden_reads');
    const m = await ask(exposed.port, `${missing}.${ZONE}`, 'TXT');
    expect(seen(h)).toBe(seen(m));
    expect(afterHidden).toBeGreaterThan(before);
    // A missing key that would be served is no hidden read.
    expect(await counter(exposed.port, 'hidden_reads')).toBe(afterHidden);
    // The same key is there for a server that serves it.
    expect(seen(await ask(everything.port, `${hidden}.${ZONE}`, 'TXT'))).not.toBe(seen(m));
  });

  it('listings, counts and shard operators show only exposed keys', async () => {
    expect(await list(exposed, '*.keys')).toEqual(['web_a;1', 'web_b;1', 'web_h']);
    expect(await list(exposed, '*.klen')).toEqual(['3']);
    expect(await list(exposed, 'secret.kplen')).toEqual(['0']);
    // Hidden keys that match the pattern (secret;2, hidden;3) are in neither shards nor shget, paged or not;
    // a server that serves every key shows them, so the patterns do reach them.
    expect(await list(exposed, '*\\;*.shards')).toEqual(['web_a|1', 'web_b|1']);
    expect(await list(everything, '*\\;*.shards')).toEqual(['hidden|3', 'secret|2', 'web_a|1', 'web_b|1']);
    expect(await list(exposed, '*\\;*.shget')).toEqual(['web_a|1|5', 'web_b|1|7']);
    expect(await list(everything, '*\\;*.shget')).toEqual(['hidden|3|13', 'secret|2|11', 'web_a|1|5', 'web_b|1|7']);
    expect(await list(exposed, '0of1.*\\;*.shget')).toEqual(['web_a|1|5', 'web_b|1|7']);
    expect(await list(exposed, '0of2.*\\;*.shards').then(async (a) => [...a, ...(await list(exposed, '1of2.*\\;*.shards'))].sort())).toEqual([
      'web_a|1',
      'web_b|1',
    ]);
    expect(await list(exposed, '0of2.*.keys').then(async (a) => [...a, ...(await list(exposed, '1of2.*.keys'))].sort())).toEqual([
      'web_a;1',
      'web_b;1',
      'web_h',
    ]);
    expect(await list(exposed, '0of1.*.klen')).toEqual(['3']);
    // A count over five hidden keys (secret:token, secret;2 and the hash, list and set) counts five left out.
    const before = await counter(exposed.port, 'hidden_listed');
    expect(await list(exposed, 'secret*.klen')).toEqual(['0']);
    expect(await counter(exposed.port, 'hidden_listed')).toBe(before + 5);
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
