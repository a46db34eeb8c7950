/**
 * One agent run for the agent benchmarks: the agent started on a config, a log replayed at it over UDP at a
 * fixed offered rate, and what that cost and gave: lines sent and received, kernel drops, CPU and memory of
 * the agent and its workers, and the counters of its final stats lines.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent } from '../dist/harness/programs.js';
import { root, usageOf } from './lib.mjs';

/** The agent and its workers. */
function pids(pid) {
  const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number);
  return [pid, ...children];
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

/** Replays `logFile` at `rate` lines/s, `per` lines per datagram (or 'cut'); one sender process manages about 60k datagrams/s. */
async function send(port, logFile, rate, per) {
  const shards = per === 1 && rate > 50_000 ? 2 : 1;
  const outs = await Promise.all(
    Array.from(
      { length: shards },
      (_, i) =>
        new Promise((resolve) => {
          const p = spawn('node', [join(root, 'bench/udp-sender.mjs'), String(port), logFile, String(rate), String(per), String(i), String(shards)], {
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          p.stdout.on('data', (d) => (out += d));
          p.on('exit', () => resolve(out));
        }),
    ),
  );
  return { sent: outs.reduce((a, o) => a + Number(o.split(' ')[1]), 0), seconds: Math.max(...outs.map((o) => Number(o.split(' ')[3]))) };
}

/**
 * Starts the agent on `cfgPath` (listening on `port`, `bindings` sockets), replays the log, waits 1.5 s for the
 * tail, stops it. `stat(name)` adds a final-stats counter over the processes that counted (NaN if any is missing).
 */
export async function runAgent({ cfgPath, port, bindings, logFile, rate, per, workers }) {
  const { proc: agent } = await startAgent(cfgPath, [], bindings);
  const rssBefore = sumUsage(agent.pid).rssMb;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, sumUsage(agent.pid).rssMb)), 200);
  const cpu0 = sumUsage(agent.pid).cpuS;
  const { sent, seconds } = await send(port, logFile, rate, per);
  await new Promise((r) => setTimeout(r, 1500));
  const dropsKernel = kernelDrops(port);
  const cpuS = sumUsage(agent.pid).cpuS - cpu0;
  clearInterval(sampler);
  const code = await agent.stop();
  // One final stats line per process that counted (each worker with workers > 1): they add up.
  const finals = [...agent.output().matchAll(/final stats ([^\n]*)/g)].map((m) => m[1]);
  const stat = (name) => (finals.length === workers ? finals.reduce((a, f) => a + Number(new RegExp(`\\b${name}=(\\d+)`).exec(f)?.[1] ?? NaN), 0) : NaN);
  return { sent, sendSeconds: seconds, dropsKernel, cpuS, cpuPct: (cpuS / (seconds + 1.5)) * 100, rssBefore, rssPeak, code, stat };
}
