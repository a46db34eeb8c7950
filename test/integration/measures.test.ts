/**
 * Sums, maxima and minima end to end: request lines sent to a real agent, written to a real Redis, totalled
 * through a real rkvdns by `total()` and the CLI, in both modes, against totals computed here from the lines.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { total, type TotalResult } from '../../src/index.js';
import { AGENT_BIN, sendLines, startAgent, writeConfig, type TestAgent } from '../helpers/agent.js';
import { agentConfig } from '../helpers/counters.js';
import { expectedByPath, expectedByStatus, lineOf, MEASURE_RULES, requests, type Request } from '../helpers/measures.js';
import { scrape } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { run } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';
import { until, waitFor } from '../helpers/wait.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TOTALIZE = fileURLToPath(new URL('../../dist/cli/totalize.js', import.meta.url));
const WINDOW = 7200;

let redis: TestRedis;
let server: TestRkvdns;
let agent: TestAgent;
let [port, metrics] = [0, 0];
const sent: Request[] = [];

beforeAll(async () => {
  redis = await startRedis();
  server = await startRkvdns(redis.url, { RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test' });
  [port, metrics] = [await freePort(), await freePort()];
  // 2-second buckets (3600 s / 1800): the lines of each test land in several, which totalize must fold by the measure.
  const defaults = { port, ttl: 3600, buckets: 1800, source: 'sophia' };
  agent = await startAgent(writeConfig(agentConfig(redis, port, { defaults, flush_interval_ms: 100, metrics: `127.0.0.1:${metrics}` }, MEASURE_RULES)));
});

afterAll(async () => {
  await agent?.stop();
  await server?.stop();
  await redis?.stop();
});

/** Sends requests and waits until the agent has read them all and written every increment they made. */
async function feed(rs: Request[]): Promise<void> {
  sent.push(...rs);
  await sendLines(port, rs.map(lineOf), 10, 20_000);
  const m = () => scrape(metrics);
  await until(
    `${sent.length} lines matched and written`,
    async () => {
      const s = await m();
      return (
        s.get('totalizer_agent_lines_total{outcome="matched"}') === sent.length &&
        s.get('totalizer_agent_increments_written_total') === s.get('totalizer_agent_increments_total')
      );
    },
    20_000,
  );
}

const totalOf = (prefix: string, sharded: boolean) => total([prefix, null], { zone: ZONE, window: WINDOW, nameservers: [`127.0.0.1:${server.port}`], sharded });

/** What totalize answered, per path, back in integers (bytes, milliseconds). */
async function observed(sharded: boolean) {
  const [hits, bytes, time, max, min] = await Promise.all(['m_hits', 'm_bytes', 'm_time', 'm_max', 'm_min'].map((p) => totalOf(p, sharded)));
  const by = (r: TotalResult) => new Map(r.groups.map((g) => [g.fields[0]!, g]));
  const out = new Map<string, Record<string, number>>();
  for (const [path, b] of by(bytes!)) {
    const hitsOfPath = hits!.groups.filter((g) => g.fields[0]!.startsWith(`${path},`)).reduce((a, g) => a + g.value, 0);
    const t = by(time!).get(path)!;
    out.set(path, {
      hits: hitsOfPath,
      bytes: b.sum!,
      sized: b.count!,
      ms: Math.round(t.sum! * 1000),
      maxMs: Math.round(by(max!).get(path)!.max! * 1000),
      minMs: Math.round(by(min!).get(path)!.min! * 1000),
    });
  }
  return { out, results: { hits: hits!, bytes: bytes!, time: time!, max: max!, min: min! } };
}

const wanted = () => new Map([...expectedByPath(sent)].map(([p, t]) => [p, { ...t }]));

/**
 * What totalize answers once rkvdns's flights (5 s, shared by repeats of a name) have caught up with what was
 * written: polled until it equals the lines' totals, or the last answer when it never does.
 */
async function settled(sharded: boolean) {
  let last = await observed(sharded);
  const canonical = (m: Map<string, object>) => JSON.stringify([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
  const want = canonical(wanted());
  await until('totals equal to the lines sent', async () => canonical((last = await observed(sharded)).out) === want, 15_000).catch(() => {});
  return last;
}

describe('measures end to end', () => {
  it('sums of integers up to 10^7 and of 3-decimal seconds, maxima and minima: exact in both modes', async () => {
    await feed(requests(3000, 1));
    const want = wanted();
    for (const sharded of [false, true]) {
      const { out, results } = await settled(sharded);
      expect({ sharded, totals: out }).toEqual({ sharded, totals: want });
      expect([results.bytes.measure, results.time.measure, results.max.measure, results.min.measure, results.hits.measure]).toEqual([
        'sum',
        'sum',
        'max',
        'min',
        'count',
      ]);
      // The mean of a sum totalizer: sum / lines, at the scale plus two places.
      for (const g of results.time.groups) expect(g.avg).toBeCloseTo(want.get(g.fields[0]!)!.ms / want.get(g.fields[0]!)!.hits / 1000, 5);
    }
    // Both modes give the same result, field for field.
    for (const prefix of ['m_time', 'm_max']) expect((await totalOf(prefix, true)).groups).toEqual((await totalOf(prefix, false)).groups);
    // Lines whose size was '-' were counted as value_invalid and not applied to the bytes sum.
    const invalid = sent.filter((r) => r.bytes === null).length;
    expect(invalid).toBeGreaterThan(0);
    expect((await scrape(metrics)).get('totalizer_agent_matches_not_counted_total{reason="value_invalid"}')).toBe(invalid);
  });

  it('Redis frozen mid-stream (SIGSTOP) and resumed: every line applied once', async () => {
    const more = requests(4000, 2);
    await sendLines(port, more.slice(0, 2000).map(lineOf), 10, 20_000);
    process.kill(redis.proc.pid, 'SIGSTOP');
    try {
      await sendLines(port, more.slice(2000).map(lineOf), 10, 20_000);
      // Held until a write has timed out (5 s): Redis runs that write when it wakes, though the agent never got
      // the reply and sends it again. Its tokens make the second copy a no-op, for sums as for counts.
      const errors = (await scrape(metrics)).get('totalizer_agent_redis_errors_total') ?? 0;
      await until(
        'a write to the frozen Redis to time out',
        async () => ((await scrape(metrics)).get('totalizer_agent_redis_errors_total') ?? 0) > errors,
        15_000,
      );
    } finally {
      process.kill(redis.proc.pid, 'SIGCONT');
    }
    sent.push(...more);
    await feed([]);
    for (const sharded of [false, true]) expect({ sharded, totals: (await settled(sharded)).out }).toEqual({ sharded, totals: wanted() });
  });

  it('the CLI: measure columns, --by a described column, JSON rows by measure, and an unknown name', async () => {
    const cli = (...args: string[]) => run('node', [TOTALIZE, ...args, '--server', `127.0.0.1:${server.port}`, '--zone', ZONE, '--window', String(WINDOW)]);
    const want = wanted();

    const table = await cli('m_time');
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^matched\s+sum\s+count\s+avg$/);
    const slowest = [...want].sort((a, b) => b[1].ms - a[1].ms)[0]!;
    expect(table.stdout.split('\n')[2]).toMatch(
      new RegExp(`^${slowest[0].replace(/[/.]/g, '\\$&')}\\s+${(slowest[1].ms / 1000).toFixed(3)}\\s+${slowest[1].hits}\\s`),
    );

    // --by status: the rule's columns name the parts of matched; no key pattern on the command line.
    const byStatus = await cli('m_hits', '--by', 'status', '--format', 'csv');
    expect(byStatus.code).toBe(0);
    const rows = byStatus.stdout.trim().split('\n');
    expect(rows[0]).toBe('status,count');
    expect(
      Object.fromEntries(
        rows
          .slice(1)
          .map((r) => r.split(','))
          .map(([s, n]) => [s, Number(n)]),
      ),
    ).toEqual(expectedByStatus(sent));

    const json = JSON.parse((await cli('m_bytes', '--format', 'json')).stdout) as {
      measure: string;
      groups: { fields: { matched: string }; sum: number; count: number; avg: number }[];
    };
    expect(json.measure).toBe('sum');
    const api = json.groups.find((g) => g.fields.matched === '/api')!;
    expect([api.sum, api.count]).toEqual([want.get('/api')!.bytes, want.get('/api')!.sized]);
    const max = JSON.parse((await cli('m_max', '--format', 'json')).stdout) as { groups: { fields: { matched: string }; max: number }[] };
    expect(max.groups.find((g) => g.fields.matched === '/login')!.max).toBe(want.get('/login')!.maxMs / 1000);

    // A typo: an error naming the described totalizers, exit 1 (not an empty table and 0).
    const typo = await cli('m_byte');
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/no totalizer 'm_byte' in rkvdns\.test.*the described ones are m_bytes, m_hits, m_max, m_min, m_time/);
  });

  it('keys the original agent wrote (no description) still total as counts', async () => {
    const now = Math.floor(Date.now() / 1000);
    await redis.client.set(`orig;10.0.0.1;web1;${now - 60}`, '5', 'EX', 3600);
    await redis.client.set(`orig;10.0.0.1;web2;${now - 30}`, '2', 'EX', 3600);
    await redis.client.set(`orig;10.0.0.2;web1;${now - 10}`, '1', 'EX', 3600);
    for (const sharded of [false, true]) {
      const r = await totalOf('orig', sharded);
      expect(r.measure).toBe('count');
      expect(r.description).toBeNull();
      expect(r.groups.map((g) => [g.group, g.count])).toEqual([
        ['10.0.0.1', 7],
        ['10.0.0.2', 1],
      ]);
    }
  });

  it('check and --test show the value each line gives; a value that is no number is skipped and counted', async () => {
    const lines = [lineOf({ path: '/a', bytes: 100, ms: 250, status: '200' }), lineOf({ path: '/a', bytes: null, ms: 1500, status: '200' })];
    const log = join(mkdtempSync(join(tmpdir(), 'measures-')), 'requests.log');
    writeFileSync(log, lines.join('\n') + '\n');
    const config = writeConfig(agentConfig(redis, port, {}, MEASURE_RULES.slice(1)));
    const check = await run('node', [AGENT_BIN, 'check', '--config', config, log]);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^ {4}m_bytes;\/a;sophia;\d+ sum 100 over 1 line\(s\)$/m);
    expect(check.stdout).toMatch(/^ {4}m_time;\/a;sophia;\d+ sum 1\.750 over 2 line\(s\)$/m);
    expect(check.stdout).toMatch(/^ {4}m_max;\/a;sophia;\d+ max 1\.500$/m);
    expect(check.stdout).toMatch(/^ {4}m_min;\/a;sophia;\d+ min 0\.250$/m);
    expect(check.stdout).toContain('matches skipped for a value that is no number: 1');
    const testPort = await freePort();
    const dry = await startAgent(writeConfig(agentConfig(redis, testPort, {}, MEASURE_RULES.slice(1))), ['--test']);
    try {
      await sendLines(testPort, lines);
      expect(await waitFor(() => /value '-' is not a number/.test(dry.proc.output()))).toBe(true);
      expect(await waitFor(() => /^m_min;\/a;sophia;\d+ min 0\.250$/m.test(dry.proc.output()))).toBe(true);
      expect(dry.proc.output()).toMatch(/^m_bytes;\/a;sophia;\d+ sum 100$/m);
      expect(dry.proc.output()).toMatch(/^m_time;\/a;sophia;\d+ sum 1\.500$/m);
    } finally {
      await dry.stop();
    }
  });
});
