/**
 * /metrics, /healthz and /readyz of rkvdns (one process and --workers 2), the agent and the totals exporter:
 * the counts they show are the traffic the test sent, readiness follows Redis, and the exporter's scrapes are
 * answered from the DNS cache.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { sendLines, startAgent, waitFor, writeConfig, type TestAgent } from '../helpers/agent.js';
import { ask, txt } from '../helpers/dns.js';
import { get, scrape } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { run, startProcess, type Started } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { RKVDNS_BIN, startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';
import { bin } from '../../src/harness/programs.js';

let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis();
  await redis.client.set('k', 'v');
});

afterAll(async () => {
  await redis?.stop();
});

const udp = 'rkvdns_queries_total{transport="udp"}';
const tcp = 'rkvdns_queries_total{transport="tcp"}';

describe('rkvdns --metrics', () => {
  let server: TestRkvdns;
  let mport: number;

  beforeAll(async () => {
    mport = await freePort();
    server = await startRkvdns(redis.url, { STATS: 0 }, ['--metrics', `127.0.0.1:${mport}`]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('counts exactly the queries sent, by transport and rcode, with the Redis read histogram', async () => {
    const before = await scrape(mport);
    for (let i = 0; i < 5; i++) expect(txt(await ask(server.port, `k.get.${ZONE}`, 'TXT'))).toEqual([['v']]);
    await ask(server.port, `k.get.${ZONE}`, 'TXT', { tcp: true });
    await ask(server.port, `x.nosuchop.${ZONE}`, 'TXT');
    const after = await scrape(mport);
    const delta = (series: string) => after.get(series)! - before.get(series)!;
    expect(delta(udp)).toBe(6);
    expect(delta(tcp)).toBe(1);
    expect(delta('rkvdns_responses_total{rcode="NOERROR"}')).toBe(6);
    expect(delta('rkvdns_errors_total{kind="operand"}')).toBe(1);
    expect(delta('rkvdns_tcp_connection_events_total{event="accepted"}')).toBe(1);
    // Every series of a family is there from the start, at 0.
    expect(after.get('rkvdns_queries_dropped_total{reason="max_pending"}')).toBe(0);
    const count = after.get('rkvdns_redis_seconds_count')!;
    expect(count).toBeGreaterThan(0);
    expect(after.get('rkvdns_redis_seconds_bucket{le="+Inf"}')).toBe(count);
    expect(after.get('rkvdns_redis_seconds_sum')).toBeGreaterThan(0);
    expect(after.has('process_cpu_seconds_total')).toBe(true);
    expect([...after.keys()].some((k) => k.startsWith('rkvdns_build_info{version='))).toBe(true);
  });

  it('keeps the stats.<zone> answer, with the same counts', async () => {
    // The test above sent 6 UDP queries (5 reads and an unknown operator) and one over TCP; this query is TCP too.
    const lines = txt(await ask(server.port, `stats.${ZONE}`, 'TXT', { tcp: true })).map((r) => r[0]!);
    expect(lines).toEqual(expect.arrayContaining(['udp_queries:6', 'tcp_queries:2', 'noerror:6', 'error_operand:1']));
  });

  it('answers /healthz, 404 for other paths, 405 for other methods, HEAD without a body', async () => {
    expect(await get(mport, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await get(mport, '/metrics')).type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect((await get(mport, '/nope')).status).toBe(404);
    expect((await get(mport, '/metrics', 'POST')).status).toBe(405);
    expect(await get(mport, '/readyz', 'HEAD')).toMatchObject({ status: 200, body: '' });
  });

  it('/readyz is 503 naming Redis while Redis is stopped, and 200 again once it is back', async () => {
    expect(await get(mport, '/readyz')).toMatchObject({ status: 200, body: 'ready\n' });
    const restart = await redis.kill();
    try {
      const down = await get(mport, '/readyz');
      expect(down.status).toBe(503);
      expect(down.body).toMatch(/^not ready: redis 127\.0\.0\.1:\d+ not reachable/);
      expect((await get(mport, '/healthz')).status).toBe(200);
    } finally {
      await restart();
    }
    expect(await waitFor(async () => (await get(mport, '/readyz')).status === 200, 10_000, 200)).toBe(true);
    await redis.client.set('k', 'v');
  });

  it('refuses a METRICS address it cannot use, naming the setting', async () => {
    const r = await run(process.execPath, [RKVDNS_BIN, '--zone', ZONE, '--listen', '127.0.0.1:0', '--metrics', 'localhost']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/setting METRICS: expected HOST:PORT/);
    const taken = await run(process.execPath, [RKVDNS_BIN, '--zone', ZONE, '--listen', '127.0.0.1:0', '--redis', redis.url, '--metrics', `127.0.0.1:${mport}`]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/cannot serve METRICS on 127\.0\.0\.1:\d+: address in use/);
  });
});

describe('rkvdns --workers 2 --metrics', () => {
  let server: TestRkvdns;
  let mport: number;

  beforeAll(async () => {
    mport = await freePort();
    server = await startRkvdns(redis.url, { STATS: 0 }, ['--workers', '2', '--metrics', `127.0.0.1:${mport}`]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("shows the sum of both workers' counts", async () => {
    // Each worker's own count, from its stats.<zone> record (asked over TCP, which the UDP count leaves alone).
    const perWorker = async () => {
      const seen = new Map<string, number>();
      for (let i = 0; i < 60 && seen.size < 2; i++) {
        const lines = txt(await ask(server.port, `stats.${ZONE}`, 'TXT', { tcp: true })).map((r) => r[0]!);
        const worker = lines.find((l) => l.startsWith('worker:'))!;
        seen.set(worker, Number(lines.find((l) => l.startsWith('udp_queries:'))?.split(':')[1] ?? 0));
      }
      return seen;
    };
    // Queries from many source ports, until both workers have read some.
    let counts = new Map<string, number>();
    for (let round = 0; round < 10; round++) {
      await Promise.all(Array.from({ length: 20 }, () => ask(server.port, `k.get.${ZONE}`, 'TXT')));
      counts = await perWorker();
      if (counts.size === 2 && [...counts.values()].every((n) => n > 0)) break;
    }
    expect(counts.size).toBe(2);
    expect([...counts.values()].every((n) => n > 0)).toBe(true);
    const m = await scrape(mport);
    expect(m.get(udp)).toBe([...counts.values()].reduce((a, b) => a + b, 0));
    // Summed families are not doubled where that would be wrong: the build info stays 1.
    expect([...m].filter(([k]) => k.startsWith('rkvdns_build_info')).map(([, v]) => v)).toEqual([1]);
    expect(await get(mport, '/readyz')).toMatchObject({ status: 200, body: 'ready\n' });
  });

  it('/readyz is 503 while Redis is stopped, and 200 again once it is back', async () => {
    const restart = await redis.kill();
    try {
      const down = await get(mport, '/readyz');
      expect(down.status).toBe(503);
      expect(down.body).toMatch(/a worker: redis .* not reachable/);
    } finally {
      await restart();
    }
    expect(await waitFor(async () => (await get(mport, '/readyz')).status === 200, 10_000, 200)).toBe(true);
    await redis.client.set('k', 'v');
  });
});

describe('totalizer-agent metrics', () => {
  for (const workers of [1, 2])
    it(`counts the lines sent (workers: ${workers}) and is ready while Redis answers`, async () => {
      const port = await freePort();
      const mport = await freePort();
      const cfg = writeConfig({
        redis: redis.url,
        stats: 0,
        workers,
        metrics: `127.0.0.1:${mport}`,
        rules: [{ name: 'hits', prefix: 'hits', port, matchex: '^(\\S+) GET', matched: '{1}', ttl: 600, buckets: 4, source: 's' }],
      });
      const agent: TestAgent = await startAgent(cfg, [], 1);
      try {
        await sendLines(port, [...Array.from({ length: 30 }, (_, i) => `10.0.0.${i % 3} GET /`), 'no-space-here']);
        const matched = 'totalizer_agent_lines_total{outcome="matched"}';
        expect(await waitFor(async () => (await scrape(mport)).get(matched) === 30, 10_000, 100)).toBe(true);
        const m = await scrape(mport);
        expect(m.get('totalizer_agent_lines_total{outcome="unmatched"}')).toBe(1);
        expect(m.get('totalizer_agent_rule_matches_total{rule="hits"}')).toBe(30);
        expect(await waitFor(async () => (await scrape(mport)).get('totalizer_agent_increments_written_total') === 30, 10_000, 100)).toBe(true);
        expect(await get(mport, '/readyz')).toMatchObject({ status: 200, body: 'ready\n' });
      } finally {
        const code = await agent.stop();
        expect(code, agent.proc.output()).toBe(0);
      }
    });
});

describe('totalize exporter', () => {
  let server: TestRkvdns;
  let exporter: Started;
  let eport: number;
  let file: string;

  beforeAll(async () => {
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 6; i++) await redis.client.set(`exp_hits;client${i % 3};web1;${now - 60 * i}`, String(10 + i), 'EX', 3600);
    server = await startRkvdns(redis.url, { STATS: 0, DEFAULT_TTL: 300 });
    eport = await freePort();
    file = join(mkdtempSync(join(tmpdir(), 'exporter-')), 'totalize.yaml');
    writeFileSync(
      file,
      stringify({
        zone: ZONE,
        server: [`127.0.0.1:${server.port}`],
        exporter: {
          listen: `127.0.0.1:${eport}`,
          totalizers: [
            { prefix: 'exp_hits', window: '1h' },
            { name: 'by_source', prefix: 'exp_hits', by: ['source'] },
          ],
        },
      }),
    );
    exporter = await startProcess(process.execPath, [bin('totalize'), 'exporter', '--config', file], /serving .* on http/);
  });
  afterAll(async () => {
    await exporter?.stop();
    await server?.stop();
  });

  it('serves the totals of what was written, labelled by totalizer and field', async () => {
    // Written above: value 10 + i for client(i % 3), i = 0..5, all within the hour.
    const m = await scrape(eport);
    for (const [client, count] of [
      ['client0', 10 + 13],
      ['client1', 11 + 14],
      ['client2', 12 + 15],
    ] as const)
      expect(m.get(`totalizer_value{totalizer="exp_hits",window_seconds="3600",measure="count",matched="${client}"}`)).toBe(count);
    expect(m.get('totalizer_value{totalizer="by_source",window_seconds="3600",measure="count",source="web1"}')).toBe(10 + 11 + 12 + 13 + 14 + 15);
    expect(m.get('totalizer_up{totalizer="exp_hits"}')).toBe(1);
  });

  it('answers repeated scrapes from the DNS cache: no new queries while the TTLs run', async () => {
    const first = await scrape(eport);
    const second = await scrape(eport);
    expect(first.get('totalizer_exporter_dns_queries_total')).toBeGreaterThan(0);
    expect(second.get('totalizer_exporter_dns_queries_total')).toBe(first.get('totalizer_exporter_dns_queries_total'));
    expect(second.get('totalizer_exporter_dns_cache_hits_total')).toBeGreaterThan(first.get('totalizer_exporter_dns_cache_hits_total')!);
  });

  it('totalize --format prometheus writes the same series as text', async () => {
    const r = await run(process.execPath, [bin('totalize'), 'exp_hits', '--config', file, '--by', 'source', '--format', 'prometheus']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('# TYPE totalizer_value gauge');
    expect(r.stdout).toContain(`totalizer_value{totalizer="exp_hits",window_seconds="3600",measure="count",source="web1"} ${10 + 11 + 12 + 13 + 14 + 15}`);
  });

  it('is unready, and says why, when a totalizer cannot be totalled', async () => {
    const bad = join(mkdtempSync(join(tmpdir(), 'exporter-')), 'totalize.yaml');
    const port = await freePort();
    // Nothing answers DNS on this port.
    const dead = await freePort();
    writeFileSync(bad, stringify({ zone: ZONE, server: [`127.0.0.1:${dead}`], exporter: { totalizers: [{ prefix: 'exp_hits' }] } }));
    const p = await startProcess(
      process.execPath,
      [bin('totalize'), 'exporter', '--config', bad, '--listen', `127.0.0.1:${port}`, '--timeout', '200'],
      /serving/,
    );
    try {
      // Unready from the start: first while the first round runs, then for the totalizer that failed.
      const r = await get(port, '/readyz');
      expect(r.status).toBe(503);
      expect(await waitFor(async () => /^not ready: totalizer exp_hits: /.test((await get(port, '/readyz')).body))).toBe(true);
      expect((await scrape(port)).get('totalizer_up{totalizer="exp_hits"}')).toBe(0);
    } finally {
      await p.stop();
    }
  });
});
