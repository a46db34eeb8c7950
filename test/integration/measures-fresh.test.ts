/**
 * How fresh totals are through a caching resolver: with rkvdns's MAX_TTL at 300 s, a resolver may keep a GET
 * answer for five minutes, but the bucket still being written is read through a listing (DEFAULT_TTL), so new
 * lines show within DEFAULT_TTL in both modes. And the sparkline draws each bucket over the time it covers.
 * Agent, Redis, rkvdns and unbound are real processes.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { total } from '../../src/index.js';
import { sendLines, startAgent, writeConfig, type TestAgent } from '../helpers/agent.js';
import { agentConfig } from '../helpers/counters.js';
import { expectedByPath, lineOf, MEASURE_RULES, requests, type Request } from '../helpers/measures.js';
import { scrape } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { run } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';
import { serverBlock, startUnbound, stubZone, type TestUnbound } from '../helpers/unbound.js';
import { until, waitFor } from '../helpers/wait.js';

const TOTALIZE = fileURLToPath(new URL('../../dist/cli/totalize.js', import.meta.url));
const DEFAULT_TTL = 2;
const BUCKET = 900;

let redis: TestRedis;
let server: TestRkvdns;
let unbound: TestUnbound;
let agent: TestAgent;
let [port, metrics] = [0, 0];
const sent: Request[] = [];

beforeAll(async () => {
  redis = await startRedis();
  server = await startRkvdns(redis.url, { RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test', MAX_TTL: 300, DEFAULT_TTL });
  unbound = await startUnbound(serverBlock() + stubZone(ZONE, server.port));
  [port, metrics] = [await freePort(), await freePort()];
  // 15-minute buckets (an hour in 4), as shipped: most lines of a run land in the one still being written.
  const config = agentConfig(redis, port, { flush_interval_ms: 100, metrics: `127.0.0.1:${metrics}` }, MEASURE_RULES.slice(0, 2));
  agent = await startAgent(writeConfig(config));
});

afterAll(async () => {
  await agent?.stop();
  await unbound?.stop();
  await server?.stop();
  await redis?.stop();
});

async function feed(rs: Request[]): Promise<void> {
  sent.push(...rs);
  await sendLines(port, rs.map(lineOf), 10, 20_000);
  await until('every line matched and written', async () => {
    const s = await scrape(metrics);
    return (
      s.get('totalizer_agent_lines_total{outcome="matched"}') === sent.length &&
      s.get('totalizer_agent_increments_written_total') === s.get('totalizer_agent_increments_total')
    );
  });
}

const viaUnbound = (prefix: string, sharded: boolean, extra: object = {}) =>
  total([prefix, null], { zone: ZONE, window: 3600, nameservers: [`127.0.0.1:${unbound.port}`], sharded, ...extra });

/** Bytes summed per path through unbound, as the lines sent say it should be. */
const bytesMatch = async (sharded: boolean) => {
  const r = await viaUnbound('m_bytes', sharded);
  const want = expectedByPath(sent);
  return r.groups.length === want.size && r.groups.every((g) => g.sum === want.get(g.group)!.bytes && g.count === want.get(g.group)!.sized);
};

describe('fresh where it matters', () => {
  it('lines added to the open bucket show within DEFAULT_TTL through unbound, in both modes, and totalize says how old they may be', async () => {
    await feed(requests(500, 3));
    for (const sharded of [false, true]) expect(await waitFor(() => bytesMatch(sharded), 15_000)).toBe(true);
    // Now every answer is in unbound's cache, the GETs of closed buckets for up to 300 s. More lines, same keys:
    await feed(requests(500, 4));
    for (const sharded of [false, true]) {
      const started = Date.now();
      // DEFAULT_TTL for the resolver's copy, plus rkvdns's own 5-second flights, plus slack; far below MAX_TTL.
      expect({ sharded, fresh: await waitFor(() => bytesMatch(sharded), (DEFAULT_TTL + 5 + 5) * 1000) }).toEqual({ sharded, fresh: true });
      expect(Date.now() - started).toBeLessThan(300_000);
    }
    const r = await viaUnbound('m_bytes', false);
    expect(r.freshness.atMostSeconds).toBe(DEFAULT_TTL);
    const table = await run('node', [TOTALIZE, 'm_bytes', '--server', `127.0.0.1:${unbound.port}`, '--zone', ZONE]);
    expect(table.stdout.trim().split('\n').at(-1)).toBe(`as of ≤ ${DEFAULT_TTL} s`);
  });

  it('the sparkline spreads each bucket over the time it covers: the open one up to now', async () => {
    // As if 890 s into a bucket, over a window of 900 s in 6 columns of 150 s: the window starts 10 s before the
    // bucket, whose 89 lines spread over [start, now): 14 in column 0, 15 in each other. The 900 lines of the bucket
    // before spread over its 900 s, 10 of them inside the window. (Drawn at their start times, as before, all 989
    // would be in column 0.)
    const start = Math.floor(Date.now() / 1000) - 890;
    await redis.client.set(`spark;a;web1;${start}`, '89', 'EX', 3600);
    await redis.client.set(`spark;a;web1;${start - 900}`, '900', 'EX', 3600);
    for (const sharded of [false, true]) {
      const r = await viaUnbound('spark', sharded, { now: start + 890, window: BUCKET, sparkBins: 6 });
      expect(r.groups[0]!.spark!.map((v) => Math.round(v * 1e6) / 1e6)).toEqual([10 + 14, 15, 15, 15, 15, 15]);
    }
    // The CLI at the real time, on the agent's buckets: the newest column is the fullest.
    const cli = await run('node', [
      TOTALIZE,
      'm_hits',
      '--by',
      'source',
      '--spark',
      '--window',
      '15m',
      '--server',
      `127.0.0.1:${unbound.port}`,
      '--zone',
      ZONE,
    ]);
    expect(cli.stdout.split('\n')[2]).toMatch(/^sophia\s+\d+\s+[▁▂▃▄▅▆▇█]*█$/);
  });
});
