#!/usr/bin/env node
/**
 * totalizer-agent under a replayed 200,000-line combined log at fixed offered rates, one line per datagram,
 * 20 lines per datagram, and 16 KiB slices that cut lines (as nc -u sends), with the two sample rules
 * of config/agent.yaml (web_client, web_page counts, web_bytes a sum); line reassembly on (as shipped), and off
 * beside two rates. Every line is accounted for: sent = received + dropped by the kernel (socket buffer, from
 * /proc/net/udp), and the rules' matches = lines counted in Redis (counts, and sums' line counts) + the agent's
 * own drop counters + matches not counted (value_invalid, ignored).
 *   npm run bench:agent            (BENCH_LINES=200000 by default)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOKEN_PREFIX } from '../dist/agent/writer.js';
import { DESCRIPTION_PREFIX } from '../dist/common/description.js';
import { runAgent } from './agent-run.mjs';
import { fmt, freePort, need, root, scratch, startRedis, table } from './lib.mjs';

need({ 'redis-server': 'redis-server' });
const LINES = Number(process.env.BENCH_LINES ?? 200_000);
const logFile = join(scratch, 'access.log');
writeFileSync(logFile, spawnSync('node', [join(root, 'bench/gen-access-log.mjs'), String(LINES)], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout);

// Reassembly (partial_line_timeout_ms) is on as shipped; off beside the figures it could cost.
const SCENARIOS = [
  { rate: 10_000, per: 1, workers: 1 },
  { rate: 25_000, per: 1, workers: 1 },
  { rate: 50_000, per: 1, workers: 1 },
  { rate: 50_000, per: 1, workers: 1, reassembly: false },
  { rate: 100_000, per: 1, workers: 1 },
  { rate: 200_000, per: 20, workers: 1 },
  { rate: 200_000, per: 20, workers: 1, reassembly: false },
  { rate: 200_000, per: 'cut', workers: 1 },
  { rate: 400_000, per: 20, workers: 1 },
  { rate: 50_000, per: 1, workers: 2 },
  { rate: 100_000, per: 1, workers: 2 },
  { rate: 200_000, per: 20, workers: 2 },
  { rate: 400_000, per: 20, workers: 2 },
];

/** Lines counted in Redis: a count's value, a sum's line count ("S N"); token and description keys are not counters. */
async function linesCounted(redis) {
  let total = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const counters = keys.filter((k) => !k.startsWith(TOKEN_PREFIX) && !k.startsWith(DESCRIPTION_PREFIX));
    if (counters.length) for (const v of await redis.mget(counters)) total += Number(v.split(' ').at(-1));
  } while (cursor !== '0');
  return total;
}

const redis = await startRedis();
const rows = [];
for (const sc of SCENARIOS) {
  await redis.client.flushall();
  const port = await freePort();
  const cfgPath = join(scratch, `agent-${port}.yaml`);
  writeFileSync(
    cfgPath,
    readFileSync(join(root, 'config/agent.yaml'), 'utf8')
      .replace('redis://127.0.0.1:6379', redis.url)
      .replace('port: 3430', `port: ${port}`)
      .replace('port: 3431', `port: ${await freePort()}`)
      .replace('stats: 60', 'stats: 0')
      .replace('workers: 1', `workers: ${sc.workers}`)
      .replace('partial_line_timeout_ms: 2000', `partial_line_timeout_ms: ${sc.reassembly === false ? 0 : 2000}`),
  );
  const run = await runAgent({ cfgPath, port, bindings: 2, logFile, rate: sc.rate, per: sc.per, workers: sc.workers });
  const { sent, sendSeconds, dropsKernel, stat } = run;
  const received = stat('lines');
  const agentDropped = ['dropped_pending_full', 'dropped_missing_substitution', 'dropped_wrongtype', 'dropped_at_shutdown'].reduce((a, n) => a + stat(n), 0);
  const notCounted = stat('value_invalid') + stat('ignored');
  const counted = await linesCounted(redis.client);
  // Kernel drops are counted in datagrams; a dropped 16 KiB slice garbles the lines it cuts, so it is not counted in lines.
  const kernelLines = sc.per === 'cut' ? NaN : dropsKernel * sc.per;
  rows.push({
    offered: `${fmt.int(sc.rate)} lines/s`,
    'lines/dgram': sc.per === 'cut' ? '16 KiB slices' : sc.per,
    workers: sc.workers,
    reassembly: sc.reassembly === false ? 'off' : 'on',
    sent: fmt.int(sent),
    'send rate': `${fmt.int(sent / sendSeconds)}/s`,
    received: fmt.int(received),
    'kernel drops': sc.per === 'cut' ? `${fmt.int(dropsKernel)} slices` : `${fmt.int(kernelLines)} lines`,
    'in Redis': fmt.int(counted),
    'agent drops': fmt.int(agentDropped),
    accounted:
      (dropsKernel === 0 ? sent === received : sc.per !== 'cut' && sent === received + kernelLines) && stat('matches') === counted + agentDropped + notCounted
        ? 'exact'
        : `NO (exit ${run.code})`,
    'CPU %': fmt.int(run.cpuPct),
    'RSS MB start→peak': `${fmt.int(run.rssBefore)}→${fmt.int(run.rssPeak)}`,
  });
  console.error(`done: ${sc.rate} lines/s × ${sc.per}, ${sc.workers} worker(s)`);
}
await redis.stop();
table(`totalizer-agent, ${fmt.int(LINES)}-line combined log, the shipped rules web_client + web_page (counts) + web_bytes (a sum)`, rows);
process.exit(0);
