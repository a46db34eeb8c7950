/**
 * The whole path behind `totalize serve`, for its tests: a private Redis, the agent fed with the sample log, rkvdns,
 * unbound in front, and `totalize serve` asking unbound. Short TTLs, so that new lines show within seconds.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { bin } from '../../src/harness/programs.js';
import { FIXTURE_LOG, sendLines, startAgent, writeConfig, type TestAgent } from './agent.js';
import { agentConfig, WEB_CLIENT } from './counters.js';
import { scrape } from './metrics.js';
import { freePort } from './ports.js';
import { run, startProcess, type Started } from './process.js';
import { startRedis, type TestRedis } from './redis.js';
import { startRkvdns, ZONE, type TestRkvdns } from './rkvdns.js';
import { serverBlock, startUnbound, stubZone, type TestUnbound } from './unbound.js';
import { until } from './wait.js';

export const LOG = readFileSync(FIXTURE_LOG, 'latin1').split('\n').filter(Boolean);
export const TTL = 2;

/** The sample log's response sizes per page, summed. */
const WEB_BYTES = { name: 'web_bytes', prefix: 'web_bytes', matchex: '"[A-Z]+ ([^ "?]+)[^"]*" \\d{3} (\\d+)', cut_at: ';', measure: 'sum', value: '{2}' };

export interface ServeStack {
  redis: TestRedis;
  rkvdns: TestRkvdns;
  unbound: TestUnbound;
  agent: TestAgent;
  serve: Started;
  /** http://127.0.0.1:PORT */
  base: string;
  /** Sends lines to the agent and waits until they are all in Redis. */
  feed(lines: string[]): Promise<void>;
  /** `totalize ARGS --format json` through the same unbound, parsed. */
  cliJson(...args: string[]): Promise<{ groups: Record<string, unknown>[] }>;
  /** DNS queries `totalize serve` has sent so far (its /api/stats). */
  queries(): Promise<number>;
  stop(): Promise<void>;
}

export async function startServeStack(): Promise<ServeStack> {
  const redis = await startRedis();
  const rkvdns = await startRkvdns(redis.url, { RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test', DEFAULT_TTL: TTL, MAX_TTL: TTL, MIN_TTL: 0 });
  const unbound = await startUnbound(serverBlock() + stubZone(ZONE, rkvdns.port));
  const [port, metrics, http] = [await freePort(), await freePort(), await freePort()];
  const agent = await startAgent(writeConfig(agentConfig(redis, port, { flush_interval_ms: 100, metrics: `127.0.0.1:${metrics}` }, [WEB_CLIENT, WEB_BYTES])));
  let sent = 0;
  const feed = async (lines: string[]) => {
    sent += lines.length;
    await sendLines(port, lines, 10, 20_000);
    await until('the lines read and written', async () => {
      const s = await scrape(metrics);
      return (
        (s.get('totalizer_agent_lines_total{outcome="matched"}') ?? 0) + (s.get('totalizer_agent_lines_total{outcome="unmatched"}') ?? 0) === sent &&
        s.get('totalizer_agent_increments_written_total') === s.get('totalizer_agent_increments_total')
      );
    });
  };
  await feed(LOG);
  const dir = mkdtempSync(join(tmpdir(), 'serve-'));
  const config = join(dir, 'totalize.yaml');
  writeFileSync(
    config,
    stringify({
      zone: ZONE,
      server: [`127.0.0.1:${unbound.port}`],
      serve: {
        listen: `127.0.0.1:${http}`,
        totalizers: [
          { prefix: 'web_client', window: '1h' },
          { prefix: 'web_bytes', window: '1h' },
        ],
      },
    }),
  );
  const serve = await startProcess(process.execPath, [bin('totalize'), 'serve', '--config', config], /the dashboard on http/);
  const base = `http://127.0.0.1:${http}`;
  return {
    redis,
    rkvdns,
    unbound,
    agent,
    serve,
    base,
    feed,
    cliJson: async (...args) => {
      const r = await run(process.execPath, [bin('totalize'), ...args, '--config', config, '--format', 'json']);
      if (r.code !== 0) throw new Error(`totalize ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
      return JSON.parse(r.stdout) as { groups: Record<string, unknown>[] };
    },
    queries: async () => ((await (await fetch(`${base}/api/stats`)).json()) as { dnsQueries: number }).dnsQueries,
    stop: async () => {
      await serve.stop();
      await agent.stop();
      await unbound.stop();
      await rkvdns.stop();
      await redis.stop();
    },
  };
}
