/**
 * UDP_IO: the batched addon (recvmmsg/sendmmsg) answers as node:dgram does, over IPv4 and IPv6, with the
 * clients' addresses intact (ALLOW_QUERY sees them), for answers that wait for Redis and answers that do not,
 * under --workers on a fixed port; and a build without the addon runs on node:dgram (auto) or says why not.
 * The rest of the suite runs on whichever path UDP_IO picks (CI runs the rkvdns tests on both).
 */
import { cpSync, existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, buildQuery, decode, sendUdp, txt } from '../helpers/dns.js';
import { scrape } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { run, startProcess } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { introspect, RKVDNS_BIN, startRkvdns, ZONE } from '../helpers/rkvdns.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let redis: TestRedis;

beforeAll(async () => {
  // The batched path is what CI builds (g++ and make are installed): its absence is a failure, not a skip.
  if (!existsSync(join(root, 'build/Release/udp_batch.node'))) throw new Error('the batched UDP addon is not built: npm run build:native');
  redis = await startRedis();
  for (let i = 0; i < 300; i++) await redis.client.set(`io${i}`, `v${i}`);
});

afterAll(async () => {
  await redis?.stop();
});

const gauge = async (port: number, name: string) => (await introspect(port, 'stats')).find((l) => l.startsWith(`${name}:`));

describe.each(['batched', 'dgram'] as const)('UDP_IO %s', (io) => {
  it('answers many concurrent queries, from Redis and from flights, each to its sender', async () => {
    const server = await startRkvdns(redis.url, { UDP_IO: io, STATS: 0 });
    try {
      expect(await gauge(server.port, 'udp_batched')).toBe(`udp_batched:${io === 'batched' ? 1 : 0}`);
      // 100 distinct names (each a Redis read) and 100 repeats of one, all in flight together (within what one
      // socket buffer holds).
      const names = [...Array.from({ length: 100 }, (_, i) => i * 3), ...Array.from({ length: 100 }, () => 7)];
      const answers = await Promise.all(names.map((i) => ask(server.port, `io${i}.get.${ZONE}`, 'TXT', { timeoutMs: 5000 })));
      expect(answers.map(txt)).toEqual(names.map((i) => [[`v${i}`]]));
      // An answer over the UDP size still comes back truncated, for the client to ask over TCP.
      const big = await ask(server.port, `io*.keys.${ZONE}`, 'TXT');
      expect(big.flags! & 0x200).toBe(0x200);
    } finally {
      await server.stop();
    }
  });

  it('sees the client address: ALLOW_QUERY answers 127.0.0.1 and refuses 127.0.0.2', async () => {
    const server = await startRkvdns(redis.url, { UDP_IO: io, STATS: 0, ALLOW_QUERY: '127.0.0.1/32' });
    try {
      expect((await ask(server.port, `io1.get.${ZONE}`, 'TXT')).rcode).toBe('NOERROR');
      expect((await ask(server.port, `io1.get.${ZONE}`, 'TXT', { from: '127.0.0.2' })).rcode).toBe('REFUSED');
    } finally {
      await server.stop();
    }
  });

  it('on [::] answers dig -4 and dig -6, and every link sees the IPv4 client as IPv4 (ALLOW_QUERY, RRL_EXEMPT, logs)', async () => {
    const server = await startRkvdns(
      redis.url,
      {
        UDP_IO: io,
        ALLOW_QUERY: '127.0.0.1/32,::1/128',
        RRL_RESPONSES_PER_SECOND: 1,
        RRL_SLIP: 0,
        RRL_EXEMPT: '127.0.0.1/32',
        LOG_LEVEL: 'info',
      },
      [],
      '::',
    );
    try {
      const digAt = async (family: '-4' | '-6', name: string) => {
        const r = await run('dig', [family, family === '-4' ? '@127.0.0.1' : '@::1', '-p', String(server.port), '+time=1', '+tries=1', '+short', name, 'TXT']);
        return r.stdout.trim();
      };
      expect(await digAt('-4', `io3.get.${ZONE}`)).toBe('"v3"');
      expect(await digAt('-6', `io4.get.${ZONE}`)).toBe('"v4"');
      // Another IPv4 client, outside the list.
      expect((await ask(server.port, `io3.get.${ZONE}`, 'TXT', { from: '127.0.0.2', host: '127.0.0.1' })).rcode).toBe('REFUSED');
      // RRL_EXEMPT names the IPv4 client: its 30 answers all come; ::1 is limited to about one a second.
      const burst = async (host: string) =>
        (await Promise.all(Array.from({ length: 30 }, () => sendUdp(server.port, buildQuery(`io5.get.${ZONE}`, 'TXT'), 1500, host)))).filter(Boolean).length;
      expect(await burst('127.0.0.1')).toBe(30);
      expect(await burst('::1')).toBeLessThan(5);
      // Logs name the IPv4 client as IPv4.
      await ask(server.port, `x.frob.${ZONE}`, 'TXT', { host: '127.0.0.1' });
      expect(server.proc.output()).toMatch(/x\.frob\.rkvdns\.test\. from 127\.0\.0\.1#\d+: /);
      expect(server.proc.output()).not.toMatch(/::ffff:/);
    } finally {
      await server.stop();
    }
  });

  it('serves IPv6 on [::1], the client address whole (ALLOW_QUERY ::1/128)', async () => {
    const p = await startProcess(
      process.execPath,
      [RKVDNS_BIN, '--listen', '[::1]:0', '--redis', redis.url, '--zone', ZONE, '--io', io, '--set', 'ALLOW_QUERY=::1/128'],
      / on \[::1\]:(\d+) /,
    );
    try {
      const raw = await sendUdp(Number(p.match[1]), buildQuery(`io2.get.${ZONE}`, 'TXT'), 3000, '::1');
      expect(txt(decode(raw!))).toEqual([['v2']]);
    } finally {
      await p.stop();
    }
  });
});

describe('UDP_IO batched limits', () => {
  it('drops a query datagram over 4,096 bytes, counted, and keeps serving', async () => {
    const server = await startRkvdns(redis.url, { UDP_IO: 'batched', STATS: 0 });
    try {
      const huge = Buffer.concat([buildQuery(`io4.get.${ZONE}`, 'TXT'), Buffer.alloc(5000)]);
      expect(await sendUdp(server.port, huge, 500)).toBeNull();
      expect(await gauge(server.port, 'udp_oversize_dropped')).toBe('udp_oversize_dropped:1');
      expect(txt(await ask(server.port, `io4.get.${ZONE}`, 'TXT'))).toEqual([['v4']]);
    } finally {
      await server.stop();
    }
  });
});

describe('the sojourn histogram', () => {
  it.each(['batched', 'dgram'] as const)('%s: counts each UDP answer from the kernel receipt of its query (batched only)', async (io) => {
    const mport = await freePort();
    const server = await startRkvdns(redis.url, { UDP_IO: io, STATS: 0, METRICS: `127.0.0.1:${mport}` });
    try {
      // 20 answers that read Redis and 20 from flights, one at a time.
      for (let i = 0; i < 40; i++) expect((await ask(server.port, `io${i % 20}.get.${ZONE}`, 'TXT')).rcode).toBe('NOERROR');
      const m = await scrape(mport);
      const count = m.get('rkvdns_udp_sojourn_seconds_count');
      const sum = m.get('rkvdns_udp_sojourn_seconds_sum')!;
      if (io === 'dgram') {
        expect([count, sum]).toEqual([0, 0]);
        return;
      }
      // Every answer carried its query's arrival time (one without is not counted), and each took some time.
      expect(count).toBe(40);
      expect(sum).toBeGreaterThan(0);
      expect(m.get('rkvdns_udp_sojourn_seconds_bucket{le="1"}')).toBe(40);
      // Cumulative buckets never decrease.
      const buckets = [...m].filter(([k]) => k.startsWith('rkvdns_udp_sojourn_seconds_bucket')).map(([, v]) => v);
      expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    } finally {
      await server.stop();
    }
  });
});

describe('UDP_IO batched under --workers', () => {
  it('each worker binds the fixed port (SO_REUSEPORT) and both answer', async () => {
    const port = await freePort();
    const p = await startProcess(
      process.execPath,
      [RKVDNS_BIN, '--listen', `127.0.0.1:${port}`, '--redis', redis.url, '--zone', ZONE, '--io', 'batched', '--workers', '2'],
      / with 2 workers/,
    );
    try {
      expect(p.output()).toContain('udp via batched');
      const workers = new Set<string>();
      for (let i = 0; i < 200 && workers.size < 2; i++) {
        const lines = txt(await ask(port, `queues.${ZONE}`, 'TXT')).map((r) => r[0]!);
        workers.add(lines.find((l) => l.startsWith('worker:'))!);
      }
      expect(workers).toEqual(new Set(['worker:1', 'worker:2']));
    } finally {
      await p.stop();
    }
  });

  it('port 0 under --workers: batched says why it cannot', async () => {
    const r = await run(process.execPath, [RKVDNS_BIN, '--listen', '127.0.0.1:0', '--redis', redis.url, '--zone', ZONE, '--io', 'batched', '--workers', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--io batched: the batched UDP path needs a fixed port under --workers/);
  });
});

describe('a build without the addon', () => {
  // The package as installed where nothing could be compiled: dist/ and package.json, no build/.
  let copy: string;
  beforeAll(() => {
    copy = mkdtempSync(join(tmpdir(), 'rkvdns-no-addon-'));
    cpSync(join(root, 'dist'), join(copy, 'dist'), { recursive: true });
    cpSync(join(root, 'package.json'), join(copy, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  });

  it('auto serves UDP through node:dgram', async () => {
    const p = await startProcess(
      process.execPath,
      [join(copy, 'dist/cli/rkvdns.js'), '--listen', '127.0.0.1:0', '--redis', redis.url, '--zone', ZONE],
      / on 127\.0\.0\.1:(\d+) /,
    );
    try {
      expect(p.output()).toContain('udp via dgram');
      const port = Number(p.match[1]);
      expect(txt(await ask(port, `io3.get.${ZONE}`, 'TXT'))).toEqual([['v3']]);
      expect(await gauge(port, 'udp_batched')).toBe('udp_batched:0');
    } finally {
      await p.stop();
    }
  });

  it('--io batched refuses to start and says how to build the addon', async () => {
    const r = await run(process.execPath, [
      join(copy, 'dist/cli/rkvdns.js'),
      '--listen',
      '127.0.0.1:0',
      '--redis',
      redis.url,
      '--zone',
      ZONE,
      '--io',
      'batched',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--io batched: the batched UDP addon is not available \(.*\); build it with npm run build:native/);
  });
});
