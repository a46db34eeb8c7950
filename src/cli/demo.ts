#!/usr/bin/env node
/**
 * The whole path on one machine: a private Redis, rkvdns on a high port, the agent, the bundled sample
 * Apache log replayed over UDP, then totalize tables and a dig line. Everything started is stopped at the
 * end, on Ctrl-C, and on errors.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../common/ports.js';
import { have, stopAll } from '../harness/processes.js';
import { bin, startAgent, startRkvdns } from '../harness/programs.js';
import { startRedis } from '../harness/redis.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ZONE = 'rkvdns.demo.example';

function say(msg: string): void {
  process.stdout.write(`\x1b[1m== ${msg}\x1b[0m\n`);
}

function ensureTools(): void {
  const missing = [
    ['redis-server', 'redis-server'],
    ['dig', 'bind9-dnsutils'],
  ]
    .filter(([cmd]) => !have(cmd!))
    .map(([, pkg]) => pkg!);
  if (missing.length === 0) return;
  if (process.getuid?.() === 0 && have('apt-get')) {
    say(`installing ${missing.join(' ')} with apt-get`);
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    return;
  }
  process.stderr.write(`demo: missing ${missing.join(', ')}. Install with: sudo apt-get install ${missing.join(' ')} (or run the demo as root)\n`);
  process.exit(1);
}

const exitAfterStopping = (code: number) => void stopAll().then(() => process.exit(code));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends the file's lines, 20 per datagram; returns the lines and datagrams sent. */
async function replay(port: number, file: string): Promise<{ lines: number; datagrams: number }> {
  const lines = readFileSync(file, 'latin1').split('\n').filter(Boolean);
  const sock = dgram.createSocket('udp4');
  let datagrams = 0;
  // Paced so the local socket buffer never overflows.
  for (let i = 0; i < lines.length; i += 20, datagrams++) {
    await new Promise<void>((res) => sock.send(Buffer.from(lines.slice(i, i + 20).join('\n') + '\n', 'latin1'), port, '127.0.0.1', () => res()));
    if (i % 400 === 0) await sleep(2);
  }
  sock.close();
  return { lines: lines.length, datagrams };
}

/** Waits (10 s at most) until the agent's /metrics says it has read `datagrams` datagrams. */
async function untilRead(metricsPort: number, datagrams: number): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
    const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    const read = /^totalizer_agent_datagrams_total (\d+)/m.exec(text);
    if (read && Number(read[1]) >= datagrams) return;
  }
  throw new Error(`the agent did not read the ${datagrams} datagrams sent within 10 s (see its /metrics on 127.0.0.1:${metricsPort})`);
}

function show(cmd: string, args: string[]): void {
  process.stdout.write(`\n$ ${[cmd.endsWith('.js') ? 'totalize' : cmd, ...args].join(' ')}\n`);
  const r = spawnSync(cmd.endsWith('.js') ? process.execPath : cmd, cmd.endsWith('.js') ? [cmd, ...args] : args, { encoding: 'utf8' });
  process.stdout.write(r.stdout + r.stderr);
}

async function main(): Promise<void> {
  ensureTools();
  const dir = mkdtempSync(join(tmpdir(), 'totalizer-demo-'));
  const redis = await startRedis({ dir });
  say(`private redis-server on 127.0.0.1:${redis.port}`);
  redis.client.disconnect();

  const rkvdns = await startRkvdns(redis.url, ZONE, { config: join(root, 'config', 'rkvdns.yaml'), settings: { STATS: 0 } });
  say(`rkvdns for zone ${ZONE} on 127.0.0.1:${rkvdns.port}`);

  const [agentPort, metricsPort] = [await freePort(), await freePort()];
  say(`totalizer-agent on udp 127.0.0.1:${agentPort} with config/agent.yaml`);
  const cfg = readFileSync(join(root, 'config', 'agent.yaml'), 'utf8')
    .replace('redis://127.0.0.1:6379', redis.url)
    .replace('port: 3430', `port: ${agentPort}`)
    .replace('port: 3431', `port: ${await freePort()}`)
    .replace('stats: 60', 'stats: 0')
    .replace('metrics: None', `metrics: 127.0.0.1:${metricsPort}`);
  writeFileSync(join(dir, 'agent.yaml'), cfg);
  const agent = await startAgent(join(dir, 'agent.yaml'), [], 2);

  const log = join(root, 'test', 'fixtures', 'access.log');
  say(`replaying ${relative(root, log)} over UDP`);
  const sent = await replay(agentPort, log);
  process.stdout.write(`sent ${sent.lines} lines in ${sent.datagrams} datagrams\n`);
  // Once the agent has read them all, stop it: SIGTERM flushes every pending count before it exits, and it logs
  // its accounting.
  await untilRead(metricsPort, sent.datagrams);
  await agent.stop();
  process.stdout.write(
    `agent ${(/final stats (datagrams=\S+ lines=\S+ matched=\S+ unmatched=\S+).*?(written=\S+)/.exec(agent.proc.output()) ?? ['', 'stopped']).slice(1).join(' ')}\n`,
  );

  const common = ['--server', `127.0.0.1:${rkvdns.port}`, '--zone', ZONE];
  say('totals through DNS');
  show(bin('totalize'), ['web_client', '--window', '1h', '--trend', '--top', '5', ...common]);
  show(bin('totalize'), ['web_client', '--by', 'status', '--window', '1h', ...common]);
  show(bin('totalize'), ['web_bytes', '--window', '1h', '--top', '5', ...common]);
  show('dig', ['@127.0.0.1', '-p', String(rkvdns.port), '+short', `web_client\\;10\\.0\\.0\\.200*.klen.${ZONE}`, 'TXT']);
}

process.on('SIGINT', () => exitAfterStopping(130));
process.on('SIGTERM', () => exitAfterStopping(143));
main().then(
  () => exitAfterStopping(0),
  (e: Error) => {
    process.stderr.write(`demo: ${e.message}\n`);
    exitAfterStopping(1);
  },
);
