/** Marshalling, debouncing, back-pressure, the CONTROL_KEY overlay, MAX_KEYS and statistics. */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, buildQuery, decode, sendUdp, txt } from '../helpers/dns.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { rssKb } from '../helpers/process.js';
import { counter, introspect, startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';

const SOA = { RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test' };
let redis: TestRedis;
let server: TestRkvdns;

beforeAll(async () => {
  redis = await startRedis();
  for (let i = 0; i < 50; i++) await redis.client.set(`fifty;${String(i).padStart(2, '0')};${'x'.repeat(20)}`, String(i));
  server = await startRkvdns(redis.url, { ...SOA, CONTROL_KEY: 'ctl', STATS: 1 });
});

afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

const value = async (name: string) => txt(await ask(server.port, `${name}.${ZONE}`, 'TXT'))[0]?.[0];
const stat = (name: string) => counter(server.port, name);

describe('marshalling', () => {
  it('many concurrent identical queries share one Redis-level lookup', async () => {
    await redis.client.hset('ctl', 'incrementing', 'burst');
    const answers = await Promise.all(Array.from({ length: 50 }, () => value('burst.get')));
    expect(new Set(answers)).toEqual(new Set(['1']));
    // A repeat inside the 5-second flight is answered from the flight too.
    expect(await value('burst.get')).toBe('1');
  });

  it('without PREFETCH, queries 1.5 s apart over 12 s see 3 lookups: one per 5-second flight', async () => {
    const upstream = await startRkvdns(redis.url, { ...SOA, CONTROL_KEY: 'ctl', PREFETCH: 'False' });
    try {
      await redis.client.hset('ctl', 'incrementing', 'spaced');
      const seen: string[] = [];
      for (let i = 0; i < 9; i++) {
        seen.push(txt(await ask(upstream.port, `spaced.get.${ZONE}`, 'TXT'))[0]![0]!);
        if (i < 8) await new Promise((r) => setTimeout(r, 1500));
      }
      expect(seen).toEqual(['1', '1', '1', '1', '2', '2', '2', '2', '3']);
      expect(await counter(upstream.port, 'prefetched')).toBe(0);
    } finally {
      await upstream.stop();
    }
  }, 20_000);

  it('with PREFETCH (the default), a repeat late in the flight gets the old answer and starts the next lookup', async () => {
    await redis.client.hset('ctl', 'incrementing', 'ahead');
    const before = await stat('prefetched');
    expect(await value('ahead.get')).toBe('1');
    await new Promise((r) => setTimeout(r, 4100));
    // In the flight's last second: still the first answer, but the next lookup is under way.
    expect(await value('ahead.get')).toBe('1');
    expect(await stat('prefetched')).toBe(before + 1);
    await new Promise((r) => setTimeout(r, 1400));
    // The first flight has ended: the prefetched answer, held for over a second already (its TTL aged
    // by one), with no further lookup.
    const res = await ask(server.port, `ahead.get.${ZONE}`, 'TXT');
    expect(txt(res)[0]?.[0]).toBe('2');
    expect(res.answers?.[0]?.ttl).toBe(29);
    expect(await stat('prefetched')).toBe(before + 1);
  }, 15_000);

  it('MAX_FLIGHTS bounds the table: beyond it a lookup runs alone and counts as flights_full, and the names held are still shared', async () => {
    const capped = await startRkvdns(redis.url, { ...SOA, MAX_FLIGHTS: 2 });
    try {
      for (const k of ['cap1', 'cap2', 'cap3']) await redis.client.set(k, k);
      const get = async (k: string) => txt(await ask(capped.port, `${k}.get.${ZONE}`, 'TXT'))[0]?.[0];
      expect(await get('cap1')).toBe('cap1');
      expect(await get('cap2')).toBe('cap2');
      expect(await get('cap3')).toBe('cap3');
      expect(await counter(capped.port, 'flights')).toBe(2);
      expect(await counter(capped.port, 'flights_full')).toBe(1);
      // cap3 has no flight: its repeat reads Redis again and sees the new value; cap1's is answered from its flight.
      await redis.client.set('cap3', 'changed');
      await redis.client.set('cap1', 'changed');
      expect(await get('cap3')).toBe('changed');
      expect(await get('cap1')).toBe('cap1');
      expect(await counter(capped.port, 'flights_full')).toBe(2);
    } finally {
      await capped.stop();
    }
  });

  it('a marshalled answer reaches every waiting client, truncated for each one’s own limit', async () => {
    const sizes = [undefined, 512, 1232, 4096, undefined, 1232];
    const answers = await Promise.all(sizes.map((edns) => ask(server.port, `fifty\\;*.keys.${ZONE}`, 'TXT', edns ? { edns } : {})));
    answers.forEach((a, i) => {
      const limit = sizes[i] === undefined ? 512 : Math.min(Math.max(sizes[i], 512), 1200);
      expect(a.raw.length).toBeLessThanOrEqual(limit);
      expect(a.flag_tc).toBe(true);
      expect(a.answers!.length).toBeGreaterThan(0);
    });
    const tcp = await ask(server.port, `fifty\\;*.keys.${ZONE}`, 'TXT', { tcp: true });
    expect(tcp.answers).toHaveLength(50);
  });
});

describe('debouncing', () => {
  it('repeats from one client address within 5 s get no answer; other names and clients do', async () => {
    await redis.client.hset('ctl', 'debounce', 'True');
    await redis.client.set('deb', 'x');
    try {
      expect(await value('deb.get')).toBe('x');
      expect(await sendUdp(server.port, buildQuery(`deb.get.${ZONE}`, 'TXT'), 700)).toBeNull();
      expect(await value('other-name.klen')).toBe('0');
      // Another client address (::1 is not on this server's IPv4 socket; 127.0.0.2 is another host on loopback).
      const fromOther = await new Promise<Buffer | null>((resolve) => {
        const s = dgram.createSocket('udp4');
        s.bind(0, '127.0.0.2', () => {
          const t = setTimeout(() => {
            s.close();
            resolve(null);
          }, 2000);
          s.on('message', (m) => {
            clearTimeout(t);
            s.close();
            resolve(m);
          });
          s.send(buildQuery(`deb.get.${ZONE}`, 'TXT'), server.port, '127.0.0.1');
        });
      });
      expect(fromOther && txt(decode(fromOther))).toEqual([['x']]);
      expect(await stat('dropped_debounce')).toBeGreaterThanOrEqual(1);
    } finally {
      await redis.client.hdel('ctl', 'debounce');
    }
  });
});

describe('back-pressure', () => {
  it('beyond MAX_PENDING UDP queries are dropped and counted; memory stays bounded; it still answers', async () => {
    await redis.client.hset('ctl', { pending_delay_ms: '2', max_pending: '100' });
    // MAX_PENDING itself is read at start-up: restart with a small bound for this test.
    const small = await startRkvdns(redis.url, { ...SOA, CONTROL_KEY: 'ctl', MAX_PENDING: 100 });
    try {
      const before = rssKb(small.proc.pid);
      const sock = dgram.createSocket('udp4');
      let answered = 0;
      sock.on('message', () => answered++);
      for (let i = 0; i < 20_000; i++) {
        sock.send(buildQuery(`flood${i % 500}.get.${ZONE}`, 'TXT', { id: i & 0xffff }), small.port, '127.0.0.1');
        if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 1500));
      await redis.client.hdel('ctl', 'pending_delay_ms');
      await new Promise((r) => setTimeout(r, 500));
      sock.close();
      const after = rssKb(small.proc.pid);
      console.log(`back-pressure: 20000 queries sent, ${answered} answered, RSS ${before} kB before, ${after} kB after`);
      const dropped = await counter(small.port, 'dropped_pending');
      console.log(`back-pressure: ${dropped} dropped and counted by the server (the rest of the burst overflowed the socket buffer)`);
      // Only MAX_PENDING queries (plus those already answered) were ever admitted.
      expect(dropped).toBeGreaterThan(1000);
      expect(answered).toBeLessThan(20_000 - dropped);
      expect(after - before).toBeLessThan(100_000);
      await redis.client.set('alive', 'yes');
      expect(txt(await ask(small.port, `alive.get.${ZONE}`, 'TXT'))).toEqual([['yes']]);
    } finally {
      await small.stop();
      await redis.client.hdel('ctl', 'max_pending', 'pending_delay_ms');
    }
  }, 30_000);
});

describe('CONTROL_KEY overlay', () => {
  it('fields overlay settings per query; a warning is logged at start-up', async () => {
    expect(server.proc.output()).toMatch(/WARN rkvdns: CONTROL_KEY ctl is set/);
    await redis.client.set('ov', 'v', 'EX', 1000);
    await redis.client.hset('ctl', { max_ttl: '7', all_queries_as_txt: 'True', case_folding: 'none' });
    try {
      const d = await ask(server.port, `ov.get.${ZONE}`, 'MX');
      expect(d.answers![0]).toMatchObject({ type: 'TXT', ttl: 7 });
      const cfg = txt(await ask(server.port, `config.${ZONE}`, 'TXT', { tcp: true })).map((r) => r[0]);
      expect(cfg).toEqual(expect.arrayContaining(['MAX_TTL:7', 'ALL_QUERIES_AS_TXT:True', 'CASE_FOLDING:none']));
      await redis.client.hset('ctl', 'rkvdns_fqdn', 'None');
      expect((await ask(server.port, `missing.get.${ZONE}`, 'TXT')).rcode).toBe('SERVFAIL');
    } finally {
      await redis.client.hdel('ctl', 'max_ttl', 'all_queries_as_txt', 'case_folding', 'rkvdns_fqdn');
    }
    expect((await ask(server.port, `missing.get.${ZONE}`, 'TXT')).rcode).toBe('NXDOMAIN');
  });
});

describe('expensive patterns', () => {
  it('patterns are enumerated with SCAN with the same results as KEYS, and capped at MAX_KEYS', async () => {
    const pipe = redis.client.pipeline();
    for (let i = 0; i < 2000; i++) pipe.set(`scan;${i}`, '1');
    await pipe.exec();
    const viaDns = txt(await ask(server.port, `scan\\;*.keys.${ZONE}`, 'TXT', { tcp: true }))
      .map((r) => r[0])
      .sort();
    expect(viaDns).toEqual((await redis.client.keys('scan;*')).sort());
    expect(await value('scan\\;1*.klen')).toBe(String((await redis.client.keys('scan;1*')).length));
    await redis.client.hset('ctl', { max_keys: '1000', enable_error_txt: 'True' });
    try {
      const d = await ask(server.port, `scan\\;*.klen.${ZONE}`, 'TXT');
      expect((d.answers![1]!.data as Buffer[])[0]!.toString()).toBe('Query failure: pattern matches more than MAX_KEYS (1000) keys');
      await redis.client.hdel('ctl', 'enable_error_txt');
      expect((await ask(server.port, `scan\\;*.shards.${ZONE}`, 'TXT')).rcode).toBe('SERVFAIL');
    } finally {
      await redis.client.hdel('ctl', 'max_keys', 'enable_error_txt');
    }
  });
});

describe('statistics', () => {
  it('stats.<zone> and the periodic log line count outcomes; queues.<zone> shows depths', async () => {
    await value('nope.frob');
    const lines = await introspect(server.port, 'stats');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^noerror:\d+$/),
        expect.stringMatching(/^error_operand:\d+$/),
        expect.stringMatching(/^udp_queries:\d+$/),
        expect.stringMatching(/^tcp_queries:\d+$/),
        expect.stringMatching(/^redis_p99_ms:[\d.]+$/),
        expect.stringMatching(/^truncated:\d+$/),
      ]),
    );
    const queues = (await introspect(server.port, 'queues')).map((l) => l.split(':')[0]);
    expect(queues).toEqual(expect.arrayContaining(['pending', 'tcp_connections', 'flights', 'debounce_entries']));
    expect(server.proc.output()).toMatch(/INFO rkvdns: stats .*noerror:\d+.*redis_p50_ms:/);
  });
});
