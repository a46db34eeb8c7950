/**
 * A real Prometheus (Debian's package) scraping rkvdns, the agent and the totals exporter: its query API shows
 * the queries and lines this test sent, and the totals of those lines (as `totalize --format json` prints them too).
 * The exporter reads through a second rkvdns, so the first one's query count is only what the test sent.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { sendLines, startAgent, waitFor, writeConfig, type TestAgent } from '../helpers/agent.js';
import { ask } from '../helpers/dns.js';
import { get } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { run, startProcess, type Started } from '../helpers/process.js';
import { startPrometheus, type TestPrometheus } from '../helpers/prometheus.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';
import { bin } from '../../src/harness/programs.js';

const QUERIES = 37;
const LINES = 53;

let redis: TestRedis;
let served: TestRkvdns;
let forExporter: TestRkvdns;
let agent: TestAgent;
let exporter: Started;
let prometheus: TestPrometheus;
let totalizeConfig: string;
let agentPort: number;
let ports: { rkvdns: number; agent: number; exporter: number };

beforeAll(async () => {
  redis = await startRedis();
  await redis.client.set('k', 'v');
  ports = { rkvdns: await freePort(), agent: await freePort(), exporter: await freePort() };
  served = await startRkvdns(redis.url, { STATS: 0 }, ['--metrics', `127.0.0.1:${ports.rkvdns}`]);
  forExporter = await startRkvdns(redis.url, { STATS: 0 });
  agentPort = await freePort();
  agent = await startAgent(
    writeConfig({
      redis: redis.url,
      stats: 0,
      metrics: `127.0.0.1:${ports.agent}`,
      rules: [{ name: 'prom_hits', prefix: 'prom_hits', port: agentPort, matchex: '^(\\S+) GET', matched: '{1}', ttl: 3600, buckets: 4, source: 'web1' }],
    }),
  );
  totalizeConfig = join(mkdtempSync(join(tmpdir(), 'prometheus-totalize-')), 'totalize.yaml');
  writeFileSync(
    totalizeConfig,
    stringify({
      zone: ZONE,
      server: [`127.0.0.1:${forExporter.port}`],
      exporter: { listen: `127.0.0.1:${ports.exporter}`, totalizers: [{ prefix: 'prom_hits', window: '1h' }] },
    }),
  );
  prometheus = await startPrometheus(ports);
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await exporter?.stop();
  await agent?.stop();
  await forExporter?.stop();
  await served?.stop();
  await redis?.stop();
});

/** The value of a one-series expression once Prometheus has it equal to `want` (or the last value seen). */
async function settle(expr: string, want: number): Promise<number | undefined> {
  let last: number | undefined;
  await waitFor(
    async () => {
      last = (await prometheus.query(expr))[0]?.value;
      return last === want;
    },
    20_000,
    250,
  );
  return last;
}

it('every target is up', async () => {
  expect(await settle('count(up{job=~"rkvdns|agent"} == 1)', 2)).toBe(2);
});

it('shows the queries sent to rkvdns and the lines sent to the agent', async () => {
  for (let i = 0; i < QUERIES; i++) await ask(served.port, `k.get.${ZONE}`, 'TXT');
  await sendLines(agentPort, [...Array.from({ length: LINES }, (_, i) => `10.1.0.${i % 4} GET /`), 'garbage']);
  expect(await settle('rkvdns_queries_total{job="rkvdns",transport="udp"}', QUERIES)).toBe(QUERIES);
  expect(await settle('rkvdns_responses_total{job="rkvdns",rcode="NOERROR"}', QUERIES)).toBe(QUERIES);
  expect(await settle('totalizer_agent_lines_total{job="agent",outcome="matched"}', LINES)).toBe(LINES);
  expect(await settle('totalizer_agent_lines_total{job="agent",outcome="unmatched"}', 1)).toBe(1);
  expect(await settle('totalizer_agent_increments_written_total{job="agent"}', LINES)).toBe(LINES);
  expect((await prometheus.query('rkvdns_redis_seconds_count{job="rkvdns"}'))[0]?.value).toBeGreaterThan(0);
});

it('shows the totals of the lines sent, as the exporter serves them and as totalize prints them', async () => {
  // Started once the agent has written every line, so its first totals already hold them.
  exporter = await startProcess(process.execPath, [bin('totalize'), 'exporter', '--config', totalizeConfig], /serving .* on http/);
  // The lines sent above: client 10.1.0.(i % 4), i = 0..LINES-1.
  const want: Record<string, number> = {};
  for (let i = 0; i < LINES; i++) want[`10.1.0.${i % 4}`] = (want[`10.1.0.${i % 4}`] ?? 0) + 1;
  const r = await run(process.execPath, [bin('totalize'), 'prom_hits', '--config', totalizeConfig, '--window', '1h', '--format', 'json']);
  const groups = (JSON.parse(r.stdout) as { groups: { fields: { matched: string }; count: number }[] }).groups;
  expect(Object.fromEntries(groups.map((g) => [g.fields.matched, g.count]))).toEqual(want);
  const n = Object.keys(want).length;
  expect(await settle('count(totalizer_value{job="exporter",totalizer="prom_hits",measure="count"})', n)).toBe(n);
  const series = await prometheus.query('totalizer_value{job="exporter",totalizer="prom_hits",measure="count"}');
  expect(Object.fromEntries(series.map((s) => [s.metric.matched, s.value]))).toEqual(want);
  expect(await settle('totalizer_up{job="exporter",totalizer="prom_hits"}', 1)).toBe(1);
});

it("every program's exposition passes promtool check metrics (names, types, help)", async () => {
  const texts: [string, string][] = [];
  for (const [name, port] of Object.entries(ports)) texts.push([name, (await get(port, '/metrics')).body]);
  const cli = await run(process.execPath, [bin('totalize'), 'prom_hits', '--config', totalizeConfig, '--window', '1h', '--format', 'prometheus', '--trend']);
  texts.push(['totalize --format prometheus', `${cli.stdout}\n`]);
  for (const [name, text] of texts) {
    expect(text.length, name).toBeGreaterThan(100);
    const lint = await run('promtool', ['check', 'metrics'], text);
    expect({ name, code: lint.code, problems: `${lint.stdout}${lint.stderr}`.trim() }).toEqual({ name, code: 0, problems: '' });
  }
});
