#!/usr/bin/env node
/**
 * What waiting for the replica costs the agent: the same log at the same rates into a master with a replica,
 * once with the master's reply enough (redis:// to the master, wait_replicas 0) and once through Sentinel with
 * each write confirmed by the replica (WAIT, wait_replicas 1), alternating, twice each; lines per agent
 * CPU-second, writes confirmed, and whether the replica holds every count.
 *   npm run bench:confirm          (BENCH_LINES=200000 by default)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startSentinels } from '../dist/harness/sentinel.js';
import { runAgent } from './agent-run.mjs';
import { fmt, freePort, need, root, scratch, table } from './lib.mjs';

need({ 'redis-server': 'redis-server' });
const LINES = Number(process.env.BENCH_LINES ?? 200_000);
const logFile = join(scratch, 'access.log');
writeFileSync(logFile, spawnSync('node', [join(root, 'bench/gen-access-log.mjs'), String(LINES)], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout);

const set = await startSentinels(mkdtempSync(join(tmpdir(), 'bench-confirm-')));
const RULE = { name: 'web_client', prefix: 'web_client', matchex: '^(\\S+) \\S+ \\S+ \\[[^\\]]*\\] "[^"]*" (\\d{3}) ', matched: '{1},{2}' };
const MODES = {
  'master reply (redis://, wait_replicas 0)': { redis: set.master.url, wait_replicas: 0 },
  'replica confirms (Sentinel, wait_replicas 1)': { redis: set.url, wait_replicas: 1 },
};

async function replicaTotal() {
  const keys = await set.replica.client.keys('web_client;*');
  return keys.length ? (await set.replica.client.mget(keys)).reduce((a, v) => a + Number(v), 0) : 0;
}

const rows = [];
for (const rate of [50_000, 200_000])
  for (const round of [1, 2])
    for (const [mode, m] of Object.entries(MODES)) {
      await set.master.client.flushall();
      const port = await freePort();
      const cfgPath = join(scratch, `confirm-${port}.yaml`);
      writeFileSync(
        cfgPath,
        stringify({ ...m, stats: 0, flush_interval_ms: 200, defaults: { port, ttl: 86400, buckets: 96, source: 'bench' }, rules: [RULE] }),
      );
      const per = rate > 50_000 ? 20 : 1;
      const run = await runAgent({ cfgPath, port, bindings: 1, logFile, rate, per, workers: 1 });
      const received = run.stat('lines');
      // The replica catches up within moments; what it holds is what a failover would keep.
      let onReplica = 0;
      for (let i = 0; i < 50 && onReplica !== received; i++) {
        onReplica = await replicaTotal();
        if (onReplica !== received) await new Promise((r) => setTimeout(r, 100));
      }
      rows.push({
        offered: `${fmt.int(rate)} lines/s × ${per}`,
        writes: mode,
        round,
        received: fmt.int(received),
        'CPU s': run.cpuS.toFixed(2),
        'lines per CPU-s': fmt.int(received / run.cpuS),
        'writes confirmed': fmt.int(run.stat('batches_confirmed')),
        'on the replica': onReplica === received ? 'all' : fmt.int(onReplica),
      });
      console.error(`done: ${mode} at ${rate}, round ${round}`);
    }
await set.stop();
table(`totalizer-agent, ${fmt.int(LINES)}-line log, one rule, writes confirmed by the replica or not`, rows);
process.exit(0);
