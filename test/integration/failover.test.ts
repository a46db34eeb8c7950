/**
 * Redis fails over behind Sentinel while lines stream in: a master, a replica, three sentinels, the agent and
 * rkvdns on the sentinel URL. The replica is stalled (SIGSTOP) while the master takes megabytes of other writes,
 * the master is killed, the replica resumed and promoted: every line must be counted exactly once on the new
 * master (the agent waits for the replica to confirm each write, and sends again what it did not confirm), and
 * rkvdns must answer from the new master soon after the kill.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startSentinels, type SentinelSet } from '../../src/harness/sentinel.js';
import { sendLines, startAgent, writeConfig, type TestAgent } from '../helpers/agent.js';
import { ask, txt } from '../helpers/dns.js';
import { get, scrape } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';
import { until } from '../helpers/wait.js';

let set: SentinelSet | undefined;
let agent: TestAgent | undefined;
let rkvdns: TestRkvdns | undefined;
afterEach(async () => {
  await agent?.stop();
  await rkvdns?.stop();
  await set?.stop();
});

/** The hits counted on the Redis at `port`, all keys added. */
async function counted(port: number): Promise<number> {
  const r = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 1 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const keys = await r.keys('hits;*');
    return keys.length ? (await r.mget(keys)).reduce((a, v) => a + Number(v), 0) : 0;
  } catch {
    return -1;
  } finally {
    r.disconnect();
  }
}

async function stack() {
  set = await startSentinels(mkdtempSync(join(tmpdir(), 'failover-')));
  const [port, metrics] = [await freePort(), await freePort()];
  agent = await startAgent(
    writeConfig({
      redis: set.url,
      stats: 0,
      flush_interval_ms: 100,
      metrics: `127.0.0.1:${metrics}`,
      defaults: { port, ttl: 3600, buckets: 4, source: 'web1' },
      rules: [{ name: 'hits', prefix: 'hits', matchex: '^(\\S+)' }],
    }),
  );
  rkvdns = await startRkvdns(set.url, { RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test' });
  // The replica in sync before anything counts: ROLE on the master lists it.
  await until('the replica connected', async () => ((await set!.master.client.role())[2] as unknown[]).length === 1);
  return { port, metrics };
}

const lines = (n: number, from: number) => Array.from({ length: n }, (_, i) => `c${(from + i) % 500} GET /`);

/** rkvdns's count of the hits keys (a klen answer), or null while it cannot read Redis. */
async function klen(): Promise<number | null> {
  const r = await ask(rkvdns!.port, `hits;*.klen.${ZONE}`, 'TXT', { timeoutMs: 500 }).catch(() => null);
  return r && r.rcode === 'NOERROR' ? Number(txt(r)[0]?.[0]) : null;
}

/** The master's port as the first sentinel names it. */
async function masterPort(): Promise<number | null> {
  const r = new Redis({ port: set!.sentinels[0]!.port, lazyConnect: true });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const addr = (await r.call('SENTINEL', 'get-master-addr-by-name', set!.name)) as string[] | null;
    return addr ? Number(addr[1]) : null;
  } catch {
    return null;
  } finally {
    r.disconnect();
  }
}

describe('failover behind Sentinel', () => {
  it('replica stalled behind megabytes, master killed, replica promoted: every line counted once; rkvdns follows', async () => {
    const { port, metrics } = await stack();
    const s = set!;
    const first = sendLines(port, lines(10_000, 0), 5, 4000);
    await until('some lines written', async () => (await counted(s.master.port)) > 2000, 10_000);
    process.kill(s.replica.proc.pid, 'SIGSTOP');
    // The master takes 32 MB the stalled replica will not have.
    const junk = 'x'.repeat(16_384);
    for (let i = 0; i < 2048; i += 256) {
      const p = s.master.client.pipeline();
      for (let j = i; j < i + 256; j++) p.set(`junk:${j}`, junk);
      await p.exec();
    }
    // The agent's writes go on reaching the master, but the stalled replica confirms none of them.
    await until(
      'a write left unconfirmed',
      async () => ((await scrape(metrics)).get('totalizer_agent_write_batches_total{outcome="unconfirmed"}') ?? 0) > 0,
      10_000,
    );
    const killedAt = Date.now();
    await s.master.proc.stop('SIGKILL');
    process.kill(s.replica.proc.pid, 'SIGCONT');
    await first;
    await sendLines(port, lines(10_000, 10_000), 5, 4000);
    // rkvdns answers from the promoted replica.
    await until(
      'rkvdns to answer from the new master',
      async () => (await klen()) !== null && (await masterPort()) === s.replica.port,
      20_000,
      async () => `klen ${await klen()}, sentinels name port ${await masterPort()} (replica ${s.replica.port})`,
    );
    const followedIn = Date.now() - killedAt;
    await until(
      'every line on the new master',
      async () => (await counted(s.replica.port)) === 20_000,
      30_000,
      async () => `${await counted(s.replica.port)} of 20000`,
    );
    const m = await scrape(metrics);
    console.log(
      `failover: rkvdns answered from the new master ${followedIn} ms after the kill; agent batches: ${['confirmed', 'master_only', 'unconfirmed', 'resent'].map((o) => `${o} ${m.get(`totalizer_agent_write_batches_total{outcome="${o}"}`)}`).join(', ')}`,
    );
    expect(followedIn).toBeLessThan(10_000);
    expect(m.get('totalizer_agent_increments_written_total')).toBe(20_000);
    // Nothing doubled either, a while later.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await counted(s.replica.port)).toBe(20_000);
  }, 90_000);

  it('a failover with no stall, the old master back as a replica, and rkvdns reading from a replica', async () => {
    const { port, metrics } = await stack();
    const s = set!;
    const http = await freePort();
    const fromReplica = await startRkvdns(s.url, {
      RKVDNS_FQDN: 'ns.rkvdns.test',
      SOA_CONTACT: 'hm.rkvdns.test',
      READ_FROM: 'replica',
      METRICS: `127.0.0.1:${http}`,
    });
    try {
      await sendLines(port, lines(2000, 0), 5, 4000);
      await until('the first lines on the replica', async () => (await counted(s.replica.port)) === 2000);
      const r = await ask(fromReplica.port, `hits;*.klen.${ZONE}`, 'TXT');
      expect(Number(txt(r)[0]?.[0])).toBe(500);
      expect(fromReplica.proc.output()).toContain(`sentinels name 127.0.0.1:${s.replica.port} as a replica of ${s.name}`);
      expect((await get(http, '/readyz')).body).toBe(`ready (reading from the replica 127.0.0.1:${s.replica.port} of ${s.name})\n`);
      expect((await scrape(http)).get('rkvdns_redis_reads_from_replica')).toBe(1);
      const restart = await s.master.kill();
      await sendLines(port, lines(2000, 2000), 5, 4000);
      await until(
        'every line on the promoted replica',
        async () => (await counted(s.replica.port)) === 4000,
        30_000,
        async () => `${await counted(s.replica.port)}`,
      );
      expect(agent!.proc.output()).toMatch(new RegExp(`failover followed: the master of ${s.name} is now 127\\.0\\.0\\.1:${s.replica.port}`));
      // The old master returns empty; the sentinels make it a replica of the new one, which confirms writes again.
      await restart();
      await until('the old master to be a replica', async () => (await s.master.client.role().catch(() => ['']))[0] === 'slave', 30_000);
      await until('the new master to list it', async () => ((await s.replica.client.role())[2] as unknown[]).length === 1, 30_000);
      const confirmedBefore = (await scrape(metrics)).get('totalizer_agent_write_batches_total{outcome="confirmed"}') ?? 0;
      await sendLines(port, lines(1000, 4000), 5, 500);
      await until(
        'writes confirmed by the returned replica',
        async () => ((await scrape(metrics)).get('totalizer_agent_write_batches_total{outcome="confirmed"}') ?? 0) > confirmedBefore,
        15_000,
      );
      await until('every line on both', async () => (await counted(s.replica.port)) === 5000 && (await counted(s.master.port)) === 5000, 15_000);
    } finally {
      await fromReplica.stop();
    }
  }, 90_000);

  it('no sentinel reachable at start: the agent says so in plain words, listens, and keeps trying', async () => {
    const [a, b, port] = [await freePort(), await freePort(), await freePort()];
    agent = await startAgent(
      writeConfig({
        redis: `redis+sentinel://127.0.0.1:${a},127.0.0.1:${b}/totals`,
        stats: 0,
        defaults: { port, ttl: 3600, source: 'web1' },
        rules: [{ name: 'hits', prefix: 'hits', matchex: '^(\\S+)' }],
      }),
    );
    expect(agent.proc.output()).toMatch(/no sentinel answers \(are they running at those addresses\?\); still trying/);
    expect(agent.proc.output()).toMatch(/listening on udp 127\.0\.0\.1:\d+ for rule\(s\) hits/);
  });
});
