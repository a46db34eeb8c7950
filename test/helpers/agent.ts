/** Starts the built totalizer-agent CLI with a generated config, sends it datagrams, stops it by PID. */
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { bin, startAgent as start } from '../../src/harness/programs.js';
import { scrape } from './metrics.js';
import type { Started } from './process.js';
import { until } from './wait.js';

export const AGENT_BIN = bin('agent');
export const FIXTURE_LOG = fileURLToPath(new URL('../fixtures/access.log', import.meta.url));

/** Writes a config (an object as YAML, or text as is) to a temporary file. */
export function writeConfig(cfg: object | string, ext = 'yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-'));
  const path = join(dir, `agent.${ext}`);
  writeFileSync(path, typeof cfg === 'string' ? cfg : stringify(cfg));
  return path;
}

export interface TestAgent {
  proc: Started;
  stop(): Promise<number | null>;
}

/** Resolves when every binding has logged "listening on udp". */
export const startAgent = (configPath: string, args: string[] = [], bindings = 1): Promise<TestAgent> => start(configPath, args, bindings);

/** Sends lines, `perDatagram` per datagram, pacing at most `rate` lines/s (bounded loopback load). */
export async function sendLines(port: number, lines: string[], perDatagram = 1, rate = 20_000, host = '127.0.0.1'): Promise<void> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const started = Date.now();
  let sent = 0;
  for (let i = 0; i < lines.length; i += perDatagram) {
    const chunk = lines.slice(i, i + perDatagram);
    await new Promise<void>((resolve, reject) => sock.send(Buffer.from(chunk.join('\n') + '\n', 'latin1'), port, host, (e) => (e ? reject(e) : resolve())));
    sent += chunk.length;
    const ahead = sent / rate - (Date.now() - started) / 1000;
    if (ahead > 0.005) await new Promise((r) => setTimeout(r, ahead * 1000));
  }
  sock.close();
}

/** Polls until `check` is true or the time runs out. */
export { waitFor } from './wait.js';

/** Datagrams the agent serving /metrics on `metricsPort` has taken off its sockets: read, or dropped unread. */
export async function datagramsTaken(metricsPort: number): Promise<number> {
  const m = await scrape(metricsPort);
  let n = m.get('totalizer_agent_datagrams_total') ?? 0;
  for (const [series, v] of m) if (series.startsWith('totalizer_agent_datagrams_dropped_total{')) n += v;
  return n;
}

/** Waits until the agent has taken `n` datagrams off its sockets (see datagramsTaken). */
export async function untilTaken(metricsPort: number, n: number, timeoutMs = 10_000): Promise<void> {
  await until(
    `the agent to take ${n} datagrams`,
    async () => (await datagramsTaken(metricsPort)) >= n,
    timeoutMs,
    async () => `${await datagramsTaken(metricsPort)} taken`,
  );
}
