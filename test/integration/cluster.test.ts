/**
 * Redis Cluster as the store: agent → three-master cluster → rkvdns → totalize, with exact totals, and a
 * master stopped and restarted while lines arrive losing no increment.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { total } from '../../src/index.js';
import { FIXTURE_LOG, sendLines, startAgent, waitFor, writeConfig } from '../helpers/agent.js';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { ask } from '../helpers/dns.js';
import { freePort } from '../helpers/ports.js';
import { startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';

const LOG = readFileSync(FIXTURE_LOG, 'latin1').split('\n').filter(Boolean);
const WEB_CLIENT = { name: 'web_client', prefix: 'web_client', matchex: '^(\\S+) \\S+ \\S+ \\[[^\\]]*\\] "[^"]*" (\\d{3}) ', matched: '{1},{2}' };
const SOA = { RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test' };

let cluster: TestCluster;
let server: TestRkvdns;

beforeAll(async () => {
  cluster = await startCluster();
  server = await startRkvdns(cluster.url, SOA);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await cluster?.stop();
});

/** Expected count per `address,status` of the lines. */
function expected(lines: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  const rx = /^(\S+) \S+ \S+ \[[^\]]*\] "[^"]*" (\d{3}) /;
  for (const l of lines) {
    const m = rx.exec(l);
    if (m) out[`${m[1]},${m[2]}`] = (out[`${m[1]},${m[2]}`] ?? 0) + 1;
  }
  return out;
}

describe('Redis Cluster', () => {
  it('agent writes by slot, rkvdns scans every master and reads by slot: exact totals in both modes, a master restart loses nothing', async () => {
    const port = await freePort();
    const agent = await startAgent(
      writeConfig({ redis: cluster.url, stats: 0, flush_interval_ms: 100, defaults: { port, ttl: 3600, buckets: 4, source: 'sophia' }, rules: [WEB_CLIENT] }),
    );
    const first = LOG.slice(0, 1500);
    const during = LOG.slice(1500, 2500);
    const after = LOG.slice(2500);
    const want = expected(LOG);
    const matching = Object.values(want).reduce((a, b) => a + b);
    try {
      await sendLines(port, first, 10, 5000);
      const firstMatching = Object.values(expected(first)).reduce((a, b) => a + b);
      expect(await waitFor(async () => (await cluster.sum('web_client;*')) === firstMatching, 15_000, 200)).toBe(true);
      expect((await cluster.counts('web_client;*')).every((n) => n > 0)).toBe(true);
      const restart = await cluster.stopMaster(1);
      // A listing that cannot reach every master fails rather than come back short.
      expect((await ask(server.port, `web_client;*.klen.${ZONE}`, 'TXT')).rcode).toBe('SERVFAIL');
      await sendLines(port, during, 10, 500);
      await restart();
      await sendLines(port, after, 10, 5000);
      expect(await waitFor(async () => (await cluster.sum('web_client;*')) === matching, 30_000, 200)).toBe(true);
    } finally {
      await agent.stop();
    }
    expect(agent.proc.output()).toMatch(/redis write (partly )?failed .*holding \d+ increment/);
    expect(agent.proc.output()).toMatch(new RegExp(`final stats .*increments=${matching} written=${matching} pending=0 `));

    // rkvdns was connected before the restart: its listings must again cover every master.
    for (const sharded of [false, true]) {
      const r = await total(['web_client', null], {
        zone: ZONE,
        window: 7 * 86400 * 365 * 10,
        nameservers: [`127.0.0.1:${server.port}`],
        sharded,
        now: Date.now() / 1000,
      });
      expect(Object.fromEntries(r.groups.map((g) => [g.group, g.count]))).toEqual(want);
    }
  }, 120_000);
});
