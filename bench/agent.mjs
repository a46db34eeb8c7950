#!/usr/bin/env node
/**
 * totalizer-agent under a replayed 200,000-line combined log at fixed offered rates, one line per datagram,
 * 20 lines per datagram, and 16 KiB slices that cut lines (as nc -u sends), with the two sample rules
 * (web_client, web_page) of config/agent.yaml; line reassembly on (as shipped), and off beside two rates.
 * Every line is accounted for: sent = received + dropped by the kernel (socket buffer, from /proc/net/udp),
 * and 2 × received = counters summed in Redis + the agent's own drop counters.
 *   npm run bench:agent            (BENCH_LINES=200000 by default)
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOKEN_PREFIX } from '../dist/agent/writer.js';
import { startAgent } from '../dist/harness/programs.js';
import { fmt, freePort, need, root, scratch, startRedis, table, usageOf } from './lib.mjs';

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

/** The agent and its workers. */
function pids(pid) {
  return [
    pid,
    ...spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .map(Number),
  ];
}

const sumUsage = (pid) => usageOf(pids(pid));

/** Kernel drops on a UDP socket bound to `port` (the last column of /proc/net/udp). */
function kernelDrops(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const line = readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .find((l) => l.trim().split(/\s+/)[1]?.endsWith(`:${hex}`));
  return line ? Number(line.trim().split(/\s+/).at(-1)) : NaN;
}

async function sumCounters(redis) {
  let total = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    // The agent's token keys hold sequence numbers, not counts.
    const counters = keys.filter((k) => !k.startsWith(TOKEN_PREFIX));
    if (counters.length) for (const v of await redis.mget(counters)) total += Number(v);
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
  const { proc: agent } = await startAgent(cfgPath, [], 2);
  const rssBefore = sumUsage(agent.pid).rssMb;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, sumUsage(agent.pid).rssMb);
  }, 200);
  const cpu0 = sumUsage(agent.pid).cpuS;
  // One sender process pushes about 60k datagrams/s here; higher one-line rates use two.
  const shards = sc.per === 1 && sc.rate > 50_000 ? 2 : 1;
  const outs = await Promise.all(
    Array.from(
      { length: shards },
      (_, i) =>
        new Promise((resolve) => {
          const p = spawn('node', [join(root, 'bench/udp-sender.mjs'), String(port), logFile, String(sc.rate), String(sc.per), String(i), String(shards)], {
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          p.stdout.on('data', (d) => {
            out += d;
          });
          p.on('exit', () => resolve(out));
        }),
    ),
  );
  const sent = outs.reduce((a, o) => a + Number(o.split(' ')[1]), 0);
  const sendSeconds = Math.max(...outs.map((o) => Number(o.split(' ')[3])));
  await new Promise((r) => setTimeout(r, 1500));
  const dropsKernel = kernelDrops(port);
  const cpuPct = ((sumUsage(agent.pid).cpuS - cpu0) / (sendSeconds + 1.5)) * 100;
  clearInterval(sampler);
  const code = await agent.stop();
  // One final stats line per process that counted (each worker with workers > 1): they add up.
  const finals = [...agent.output().matchAll(/final stats ([^\n]*)/g)].map((m) => m[1]);
  const stat = (name) => (finals.length === sc.workers ? finals.reduce((a, f) => a + Number(new RegExp(`\\b${name}=(\\d+)`).exec(f)?.[1] ?? NaN), 0) : NaN);
  const received = stat('lines');
  const agentDropped = ['dropped_pending_full', 'dropped_missing_substitution', 'dropped_wrongtype', 'dropped_at_shutdown'].reduce((a, n) => a + stat(n), 0);
  const counted = await sumCounters(redis.client);
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
    'lost (sent − counted/2)': fmt.int(sent - counted / 2),
    accounted:
      (dropsKernel === 0 ? sent === received : sc.per !== 'cut' && sent === received + kernelLines) && 2 * received === counted + agentDropped
        ? 'exact'
        : `NO (exit ${code})`,
    'CPU %': fmt.int(cpuPct),
    'RSS MB start→peak': `${fmt.int(rssBefore)}→${fmt.int(rssPeak)}`,
  });
  console.error(`done: ${sc.rate} lines/s × ${sc.per}, ${sc.workers} worker(s)`);
}
await redis.stop();
table(`totalizer-agent, ${fmt.int(LINES)}-line combined log, rules web_client + web_page (2 increments per line)`, rows);
process.exit(0);
