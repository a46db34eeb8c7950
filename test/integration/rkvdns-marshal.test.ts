/** Marshalling, debouncing, back-pressure, the CONTROL_KEY overlay, MAX_KEYS and statistics. */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, buildQuery, decode, sendUdp, txt } from '../helpers/dns.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { rssKb } from '../helpers/process.js';
import { counter, introspect, startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';
import { until } from '../helpers/wait.js';

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

  it('without PREFETCH, queries 1.5 s apart over 12 s see one lookup per 5-second flight', async () => {
    const upstream = await startRkvdns(redis.url, { ...SOA, CONTROL_KEY: 'ctl', PREFETCH: 'False' });
    try {
      await redis.client.hset('ctl', 'incrementing', 'spaced');
      const seen: { sent: number; answered: number; value: string }[] = [];
      for (let i = 0; i < 9; i++) {
        const sent = Date.now();
        const value = txt(await ask(upstream.port, `spaced.get.${ZONE}`, 'TXT'))[0]![0]!;
        seen.push({ sent, answered: Date.now(), value });
        if (i < 8) await new Promise((r) => setTimeout(r, 1500));
      }
      // The answers count the lookups: they start at 1 and go up by one at a time, each new one at least 5 s after
      // the one before (a new flight), and every answer with a value comes within 5 s of that value's first (one
      // flight). Times are the client's: a round trip of slack each way.
      const slack = Math.max(...seen.map((q) => q.answered - q.sent)) + 50;
      const first = new Map<string, number>();
      seen.forEach((q, i) => {
        if (!first.has(q.value)) first.set(q.value, q.sent);
        if (i > 0) expect([seen[i - 1]!.value, String(Number(seen[i - 1]!.value) + 1)]).toContain(q.value);
        expect(q.sent - first.get(q.value)!).toBeLessThan(5000 + slack);
      });
      const starts = [...first.values()];
      expect(seen[0]!.value).toBe('1');
      for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(5000 - slack);
      // Over 12 s, flights of 5 s: three lookups.
      expect(first.size).toBe(3);
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
    const prefetchSent = Date.now();
    expect(await value('ahead.get')).toBe('1');
    const prefetchAnswered = Date.now();
    expect(await stat('prefetched')).toBe(before + 1);
    await new Promise((r) => setTimeout(r, 1400));
    // The first flight has ended: the prefetched answer, with no further lookup, its TTL aged by the whole seconds
    // since it was read (about 1.4 s: one, as the clock fell).
    const askedAt = Date.now();
    const res = await ask(server.port, `ahead.get.${ZONE}`, 'TXT');
    const answeredAt = Date.now();
    expect(txt(res)[0]?.[0]).toBe('2');
    const aged = 30 - res.answers![0]!.ttl!;
    expect(aged).toBeGreaterThanOrEqual(Math.floor((askedAt - prefetchAnswered) / 1000));
    expect(aged).toBeLessThanOrEqual(Math.ceil((answeredAt - prefetchSent) / 1000));
    expect(aged).toBeGreaterThanOrEqual(1);
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
      // While the flood runs, the queries waiting never exceed MAX_PENDING.
      let flooding = true;
      let mostPending = 0;
      const watcher = (async () => {
        while (flooding) {
          const pending = Number((await introspect(small.port, 'queues')).find((l) => l.startsWith('pending:'))!.split(':')[1]);
          mostPending = Math.max(mostPending, pending);
        }
      })();
      for (let i = 0; i < 20_000; i++) {
        sock.send(buildQuery(`flood${i % 500}.get.${ZONE}`, 'TXT', { id: i & 0xffff }), small.port, '127.0.0.1');
        if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 1500));
      flooding = false;
      await watcher;
      await redis.client.hdel('ctl', 'pending_delay_ms');
      await until('the queries admitted to be answered', async () => (await counter(small.port, 'pending')) <= 1, 10_000);
      sock.close();
      const after = rssKb(small.proc.pid);
      const stats = new Map((await introspect(small.port, 'stats')).map((l) => l.split(':') as [string, string]));
      const n = (name: string) => Number(stats.get(name) ?? 0);
      console.log(
        `back-pressure: 20000 queries sent, ${n('udp_queries')} received, ${n('dropped_pending')} dropped at MAX_PENDING, ${answered} answered; at most ${mostPending} waiting; RSS ${before} kB before, ${after} kB after`,
      );
      expect(mostPending).toBeLessThanOrEqual(100);
      expect(mostPending).toBeGreaterThan(50);
      expect(n('dropped_pending')).toBeGreaterThan(1000);
      // Every UDP query received was either dropped at MAX_PENDING or answered (NXDOMAIN: the flood's keys do not exist).
      expect(n('dropped_pending') + n('nxdomain')).toBe(n('udp_queries'));
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
    // Enumerated with SCAN, never KEYS (Redis's own command counts).
    const calls = async (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(await redis.client.info('commandstats'))?.[1] ?? 0);
    const [scans, keys] = [await calls('scan'), await calls('keys')];
    expect(await value('scan\\;2*.klen')).toBe('111');
    expect(await calls('scan')).toBeGreaterThan(scans);
    expect(await calls('keys')).toBe(keys);
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
    const counts = async () => new Map((await introspect(server.port, 'stats')).map((l) => l.split(':') as [string, string]));
    const before = await counts();
    await redis.client.set('statk', 'v');
    await value('nope.frob'); // an unknown operator, over UDP
    await value('statk.get'); // NOERROR, over UDP
    await ask(server.port, `statk.get.${ZONE}`, 'TXT', { tcp: true }); // NOERROR, over TCP
    const after = await counts();
    const delta = (name: string) => Number(after.get(name) ?? 0) - Number(before.get(name) ?? 0);
    // Each stats query counts itself as a TCP query on arrival, and as NOERROR once answered: the second one's
    // arrival and the first one's answer fall between the two readings.
    expect({ operand: delta('error_operand'), noerror: delta('noerror'), udp: delta('udp_queries'), tcp: delta('tcp_queries') }).toEqual({
      operand: 1,
      noerror: 3,
      udp: 2,
      tcp: 2,
    });
    expect(after.get('redis_p99_ms')).toMatch(/^\d+\.\d\d$/);
    const queues = new Map((await introspect(server.port, 'queues')).map((l) => l.split(':') as [string, string]));
    // Idle but for this query: its own connection is the one open, and it is the one waiting (with CONTROL_KEY every
    // query waits for the overlay's read of the hash).
    expect({ pending: queues.get('pending'), tcp: queues.get('tcp_connections') }).toEqual({ pending: '1', tcp: '1' });
    expect(queues.has('flights') && queues.has('debounce_entries')).toBe(true);
    // The periodic line (STATS: 1): within a couple of seconds, with a Redis read among its figures.
    await until('a stats log line', () => /INFO rkvdns: stats .*noerror:\d+.*redis_p50_ms:/.test(server.proc.output()), 5000);
  });
});
