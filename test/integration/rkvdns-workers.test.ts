/**
 * WORKERS > 1: several processes share one port and answer alike; a dead worker is replaced; SIGTERM stops
 * all. Several separate instances behind one resolver answer alike too.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, txt } from '../helpers/dns.js';
import { get, scrape } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { until } from '../helpers/wait.js';
import { run } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { introspect, startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';
import { serverBlock, startUnbound } from '../helpers/unbound.js';

let redis: TestRedis;
let server: TestRkvdns;

beforeAll(async () => {
  redis = await startRedis();
  await redis.client.set('k', 'shared');
  server = await startRkvdns(redis.url, { STATS: 0 }, ['--workers', '2']);
});

afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

/** The worker that answered, from its queues.<zone> record; each query is a new TCP connection. */
const workerOf = async () => (await introspect(server.port, 'queues')).find((l) => l.startsWith('worker:'));
const workerPids = async () => (await run('pgrep', ['-P', String(server.proc.pid)])).stdout.trim().split('\n').filter(Boolean).map(Number);

describe('--workers 2', () => {
  it('both workers answer on the one port, over UDP and TCP, with identical answers', async () => {
    const seen = new Set<string | undefined>();
    for (let i = 0; i < 30 && seen.size < 2; i++) seen.add(await workerOf());
    expect(seen).toEqual(new Set(['worker:1', 'worker:2']));
    for (const tcp of [false, true]) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => ask(server.port, `k.get.${ZONE}`, 'TXT', { tcp })));
      expect(answers.map(txt)).toEqual(Array.from({ length: 10 }, () => [['shared']]));
    }
  });

  it('a worker that dies is replaced and the port keeps answering', async () => {
    const [victim] = await workerPids();
    expect(victim).toBeGreaterThan(0);
    process.kill(victim!, 'SIGKILL');
    expect(txt(await ask(server.port, `k.get.${ZONE}`, 'TXT'))).toEqual([['shared']]);
    let pids: number[] = [];
    for (let i = 0; i < 40; i++) {
      pids = await workerPids();
      if (pids.length === 2 && !pids.includes(victim!)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(pids).toHaveLength(2);
    expect(pids).not.toContain(victim);
  });

  it('SIGTERM to the primary stops every worker and exits 0', async () => {
    const pids = await workerPids();
    expect(await server.stop()).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('--workers 2: /metrics and /readyz in the primary', () => {
  let pool: TestRkvdns;
  let mport: number;

  beforeAll(async () => {
    mport = await freePort();
    pool = await startRkvdns(redis.url, { STATS: 0 }, ['--workers', '2', '--metrics', `127.0.0.1:${mport}`]);
  });
  afterAll(async () => {
    await pool?.stop();
  });
  const pids = async () => (await run('pgrep', ['-P', String(pool.proc.pid)])).stdout.trim().split('\n').filter(Boolean).map(Number);

  it('adds up the workers: counters, gauges and histograms equal what was sent, whichever worker took it', async () => {
    const before = await scrape(mport);
    // 40 UDP reads of distinct keys (each a Redis read), and 3 TCP connections held open.
    await redis.client.mset(Array.from({ length: 40 }, (_, i) => [`w${i}`, 'x']).flat());
    for (let i = 0; i < 40; i++) expect(txt(await ask(pool.port, `w${i}.get.${ZONE}`, 'TXT'))).toEqual([['x']]);
    const held = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<net.Socket>((resolve) => {
            const s = net.connect(pool.port, '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    try {
      const seen = new Set<string | undefined>();
      for (let i = 0; i < 30 && seen.size < 2; i++) seen.add((await introspect(pool.port, 'queues')).find((l) => l.startsWith('worker:')));
      expect(seen.size).toBe(2);
      let after = await scrape(mport);
      await until('the held connections to be counted', async () => (after = await scrape(mport)).get('rkvdns_tcp_connections_open') === 3, 5000);
      const delta = (series: string) => after.get(series)! - (before.get(series) ?? 0);
      expect(delta('rkvdns_queries_total{transport="udp"}')).toBe(40);
      expect(delta('rkvdns_redis_seconds_count')).toBe(40);
      expect(delta('rkvdns_redis_seconds_bucket{le="+Inf"}')).toBe(40);
    } finally {
      for (const s of held) s.destroy();
    }
  });

  it('/readyz is 503 while a worker is dead (until it is replaced) and while one does not answer', async () => {
    expect((await get(mport, '/readyz')).status).toBe(200);
    const [first, second] = await pids();
    process.kill(first!, 'SIGKILL');
    // Replaced after 1 s: until then one of two runs (or, the moment it died, it is still asked and does not answer).
    const dead = await get(mport, '/readyz');
    expect(dead.status).toBe(503);
    expect(dead.body).toMatch(/1 of 2 workers running|1 worker\(s\) did not answer/);
    await until('a replacement worker', async () => (await get(mport, '/readyz')).status === 200, 10_000);
    // A stopped worker answers nothing: after 2 s it counts as not ready.
    process.kill(second!, 'SIGSTOP');
    try {
      const r = await get(mport, '/readyz');
      expect(r.status).toBe(503);
      expect(r.body).toMatch(/1 worker\(s\) did not answer within 2000 ms/);
    } finally {
      process.kill(second!, 'SIGCONT');
    }
    await until('every worker ready again', async () => (await get(mport, '/readyz')).status === 200, 10_000);
  }, 30_000);
});

describe('several rkvdns instances behind one resolver', () => {
  it('behind unbound (two stub addresses, like two NS records) every answer is the same as each instance gives, also once one instance stops', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `spread${i}`);
    await redis.client.mset(keys.flatMap((k, i) => [k, `v${i}`]));
    // Two separate instances (the --workers server above has been stopped by now).
    const [one, second] = await Promise.all([startRkvdns(redis.url, { STATS: 0 }), startRkvdns(redis.url, { STATS: 0 })]);
    const unbound = await startUnbound(
      serverBlock() + ['stub-zone:', `  name: "${ZONE}"`, `  stub-addr: 127.0.0.1@${one.port}`, `  stub-addr: 127.0.0.1@${second.port}`, ''].join('\n'),
    );
    try {
      const direct = await Promise.all(keys.map((k) => ask(second.port, `${k}.get.${ZONE}`, 'TXT')));
      expect(direct.map(txt)).toEqual(keys.map((_, i) => [[`v${i}`]]));
      const viaServer = await Promise.all(keys.map((k) => ask(one.port, `${k}.get.${ZONE}`, 'TXT')));
      expect(viaServer.map(txt)).toEqual(direct.map(txt));
      const viaUnbound = await Promise.all(keys.slice(0, 30).map((k) => ask(unbound.port, `${k}.get.${ZONE}`, 'TXT')));
      expect(viaUnbound.map(txt)).toEqual(direct.slice(0, 30).map(txt));
      // One instance stops: unbound asks the other (names not cached yet), after its own timeout.
      await second.stop();
      const afterStop = await Promise.all(keys.slice(30).map((k) => ask(unbound.port, `${k}.get.${ZONE}`, 'TXT', { timeoutMs: 10_000 })));
      expect(afterStop.map(txt)).toEqual(direct.slice(30).map(txt));
    } finally {
      await unbound.stop();
      await Promise.all([one.stop(), second.stop()]);
    }
  }, 30_000);
});
