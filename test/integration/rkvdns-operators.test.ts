/** Every operator of the specification against a real redis-server and a real rkvdns over UDP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, dig, txt } from '../helpers/dns.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';

let redis: TestRedis;
let server: TestRkvdns;

beforeAll(async () => {
  redis = await startRedis();
  const c = redis.client;
  await c.set('foo', 'bar');
  await c.hset('h', { one: '1', two: '2', Mixed: 'm' });
  await c.rpush('l', 'a', 'b', 'c', 'd');
  await c.sadd('s', 'x', 'y');
  await c.set('web_client;10.0.0.224,200;sophia;1747546909', '7');
  await c.set('web_client;10.0.0.224,304;sophia;1747546909', '2');
  await c.set('web_client;10.0.0.5,200;flame;1747546909', '3');
  await c.set('logins;ssh;t;10.0.0.224;m3047;flame;1755290511', '1');
  await c.set('logins;ssh;t;10.0.0.224;m3047;sophia;1755290511', '4');
  await c.set('logins;ftp;u;10.0.0.9;m3047;flame;1755290600', '5');
  await c.set('odd.(key)+?;one', 'v1');
  await c.set('oddX(key)+?;two', 'v2');
  server = await startRkvdns(redis.url, { RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hostmaster.rkvdns.test' });
});

afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

const q = (name: string, type = 'TXT') => ask(server.port, `${name}.${ZONE}`, type, { edns: 1232 });
const sorted = (d: Awaited<ReturnType<typeof q>>) =>
  txt(d)
    .map((r) => r.join('|'))
    .sort();

describe('operators', () => {
  it('get returns the value; a missing key is NXDOMAIN', async () => {
    expect(txt(await q('foo.get'))).toEqual([['bar']]);
    expect((await q('missing.get')).rcode).toBe('NXDOMAIN');
  });

  it('operator names are case-insensitive', async () => {
    expect(txt(await q('foo.GeT'))).toEqual([['bar']]);
  });

  it('hget, hkeys, hlen', async () => {
    expect(txt(await q('two.h.hget'))).toEqual([['2']]);
    expect((await q('nope.h.hget')).rcode).toBe('NXDOMAIN');
    // The key label is folded to lower case by default; the field of a mixed-case name needs escape folding.
    expect(sorted(await q('h.hkeys'))).toEqual(['Mixed', 'one', 'two']);
    expect(txt(await q('h.hlen'))).toEqual([['3']]);
  });

  it('lindex, llen, lrange with Redis-inclusive ranges', async () => {
    expect(txt(await q('1.l.lindex'))).toEqual([['b']]);
    expect(txt(await q('-1.l.lindex'))).toEqual([['d']]);
    expect((await q('9.l.lindex')).rcode).toBe('NXDOMAIN');
    expect(txt(await q('l.llen'))).toEqual([['4']]);
    expect(txt(await q(':.l.lrange'))).toEqual([['a'], ['b'], ['c'], ['d']]);
    expect(txt(await q(':-2.l.lrange'))).toEqual([['a'], ['b'], ['c']]);
    expect(txt(await q('2:.l.lrange'))).toEqual([['c'], ['d']]);
    expect(txt(await q('1:2.l.lrange'))).toEqual([['b'], ['c']]);
  });

  it('scard, smembers', async () => {
    expect(txt(await q('s.scard'))).toEqual([['2']]);
    expect(sorted(await q('s.smembers'))).toEqual(['x', 'y']);
  });

  it('keys, klen, kplen', async () => {
    expect(sorted(await q('web_client\\;*.keys'))).toEqual([
      'web_client;10.0.0.224,200;sophia;1747546909',
      'web_client;10.0.0.224,304;sophia;1747546909',
      'web_client;10.0.0.5,200;flame;1747546909',
    ]);
    expect(txt(await q('web_client\\;*\\;sophia\\;*.klen'))).toEqual([['2']]);
    expect(txt(await q('web_client\\;10\\.0\\.0\\.224.kplen'))).toEqual([['2']]);
    const none = await q('nothing*.keys');
    expect(none.rcode).toBe('NOERROR');
    expect(none.answers).toHaveLength(0);
  });

  it('shards: unique tuples of single-star captures', async () => {
    expect(sorted(await q('logins\\;**\\;*\\;*\\;*\\;**\\;*.shards'))).toEqual(['t|10.0.0.224|m3047|1755290511', 'u|10.0.0.9|m3047|1755290600']);
  });

  it('shget: captures followed by the values of the group (the specification example)', async () => {
    const d = await q('logins\\;**\\;*\\;*\\;*\\;**\\;*.shget');
    const records = txt(d)
      .map((r) => [...r.slice(0, 4), ...r.slice(4).sort()].join('|'))
      .sort();
    expect(records).toEqual(['t|10.0.0.224|m3047|1755290511|1|4', 'u|10.0.0.9|m3047|1755290600|5']);
    const spec = await q('logins\\;ssh\\;*\\;*\\;*\\;flame\\;*.shget');
    expect(txt(spec)).toEqual([['t', '10.0.0.224', 'm3047', '1755290511', '1']]);
  });

  it('shards/shget take literal parts literally: . ( ) + ? are not wildcards', async () => {
    expect(txt(await q('odd\\.\\(key\\)+?\\;*.shget'))).toEqual([['one', 'v1']]);
    expect(sorted(await q('odd*\\(key\\)+?\\;*.shards'))).toEqual(['.|one', 'X|two']);
    expect(sorted(await q('odd**\\(key\\)+?\\;*.shards'))).toEqual(['one', 'two']);
  });

  it('config lists the effective settings as name:value', async () => {
    const lines = txt(await q('config')).map((r) => r[0]);
    expect(lines).toContain(`ZONE:${ZONE}`);
    expect(lines).toContain('DEFAULT_TTL:30');
    expect(lines).toContain('CASE_FOLDING:lower');
  });

  it('queues reports internal depths: none waiting on an idle server', async () => {
    const d = await q('queues');
    expect(d.rcode).toBe('NOERROR');
    const lines = txt(d).map((r) => r[0]);
    expect(lines).toEqual(expect.arrayContaining(['pending:0', 'tcp_connections:0', 'redis_commands_queued:0']));
  });

  it('dig shows a key whose label holds dots and semicolons as one label', async () => {
    const out = await dig(server.port, `web_client\\;10\\.0\\.0\\.5*.keys.${ZONE}`, 'TXT');
    expect(out).toContain('status: NOERROR');
    expect(out).toMatch(/^web_client\\;10\\.0\\.0\\.5\*\.keys\.rkvdns\.test\.\s+30\s+IN\s+TXT\s+"web_client;10\.0\.0\.5,200;flame;1747546909"$/m);
    expect(out).not.toContain('mismatch');
  });
});
