#!/usr/bin/env node
/**
 * The whole path on one machine: a private Redis, rkvdns on a high port, the agent, the bundled sample
 * Apache log replayed over UDP, then totalize tables and a dig line. Everything started is stopped at the
 * end, on Ctrl-C, and on errors.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../common/ports.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = (name: string) => join(root, 'dist', 'cli', name);
const ZONE = 'rkvdns.demo.example';
const children: ChildProcess[] = [];

function say(msg: string): void {
  process.stdout.write(`\x1b[1m== ${msg}\x1b[0m\n`);
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function ensureTools(): void {
  const missing = [['redis-server', 'redis-server'], ['dig', 'bind9-dnsutils']].filter(([cmd]) => !have(cmd!)).map(([, pkg]) => pkg!);
  if (missing.length === 0) return;
  if (process.getuid?.() === 0 && have('apt-get')) {
    say(`installing ${missing.join(' ')} with apt-get`);
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    return;
  }
  process.stderr.write(`demo: missing ${missing.join(', ')}. Install with: sudo apt-get install ${missing.join(' ')} (or run the demo as root)\n`);
  process.exit(1);
}

/** Starts a child and resolves when its output matches `ready`. */
function start(cmd: string, args: string[], ready: RegExp): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start in 15 s:\n${out}`)), 15_000);
    const onData = (d: Buffer) => {
      out += d;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}) while starting:\n${out}`)));
  });
}

const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

/** SIGTERM to everything started, then waits for each to exit (SIGKILL after 5 s), so nothing outlives the demo. */
async function stopAll(): Promise<void> {
  await Promise.all(
    children.filter(running).map(
      (c) =>
        new Promise<void>((res) => {
          const kill = setTimeout(() => c.kill('SIGKILL'), 5000);
          c.once('exit', () => {
            clearTimeout(kill);
            res();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
}

const exitAfterStopping = (code: number) => void stopAll().then(() => process.exit(code));

async function replay(port: number, file: string): Promise<number> {
  const lines = readFileSync(file, 'latin1').split('\n').filter(Boolean);
  const sock = dgram.createSocket('udp4');
  // 20 lines per datagram, paced so the local socket buffer never overflows.
  for (let i = 0; i < lines.length; i += 20) {
    await new Promise<void>((res) => sock.send(Buffer.from(lines.slice(i, i + 20).join('\n'), 'latin1'), port, '127.0.0.1', () => res()));
    if (i % 400 === 0) await new Promise((r) => setTimeout(r, 2));
  }
  sock.close();
  return lines.length;
}

function show(cmd: string, args: string[]): void {
  process.stdout.write(`\n$ ${[cmd.endsWith('.js') ? 'totalize' : cmd, ...args].join(' ')}\n`);
  const r = spawnSync(cmd.endsWith('.js') ? process.execPath : cmd, cmd.endsWith('.js') ? [cmd, ...args] : args, { encoding: 'utf8' });
  process.stdout.write(r.stdout + r.stderr);
}

async function main(): Promise<void> {
  ensureTools();
  const dir = mkdtempSync(join(tmpdir(), 'totalizer-demo-'));
  const [redisPort, dnsPort, agentPort] = [await freePort(), await freePort(), await freePort()];
  const redisUrl = `redis://127.0.0.1:${redisPort}`;

  say(`private redis-server on 127.0.0.1:${redisPort}`);
  await start('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], /Ready to accept connections/);

  say(`rkvdns for zone ${ZONE} on 127.0.0.1:${dnsPort}`);
  await start(process.execPath, [bin('rkvdns.js'), '--config', join(root, 'config', 'rkvdns.yaml'), '--listen', `127.0.0.1:${dnsPort}`, '--redis', redisUrl, '--zone', ZONE, '--set', 'STATS=0'], / on 127\.0\.0\.1:\d+ /);

  say(`totalizer-agent on udp 127.0.0.1:${agentPort} with config/agent.yaml`);
  const cfg = readFileSync(join(root, 'config', 'agent.yaml'), 'utf8').replace('redis://127.0.0.1:6379', redisUrl).replace('port: 3430', `port: ${agentPort}`).replace('port: 3431', `port: ${await freePort()}`).replace('stats: 60', 'stats: 0');
  writeFileSync(join(dir, 'agent.yaml'), cfg);
  const agent = await start(process.execPath, [bin('agent.js'), '--config', join(dir, 'agent.yaml')], /(listening on udp[^]*){2}/);

  const log = join(root, 'test', 'fixtures', 'access.log');
  say(`replaying ${log} over UDP`);
  const n = await replay(agentPort, log);
  process.stdout.write(`sent ${n} lines\n`);
  // Stop the agent: SIGTERM flushes every pending count before it exits, and it logs its accounting.
  const final = new Promise<string>((res) => {
    let out = '';
    agent.stderr!.on('data', (d) => (out += d));
    agent.once('exit', () => res(out));
  });
  await new Promise((r) => setTimeout(r, 300));
  agent.kill('SIGTERM');
  process.stdout.write(`agent ${(/final stats (datagrams=\S+ lines=\S+ matched=\S+ unmatched=\S+).*?(written=\S+)/.exec(await final) ?? ['', 'stopped']).slice(1).join(' ')}\n`);

  const common = ['--server', `127.0.0.1:${dnsPort}`, '--zone', ZONE];
  say('totals through DNS');
  show(bin('totalize.js'), ['web_client', '--window', '1h', '--trend', '--columns', 'ip,status', '--top', '10', ...common]);
  show(bin('totalize.js'), ['web_page', '--window', '1h', '--columns', 'page', ...common]);
  show('dig', ['@127.0.0.1', '-p', String(dnsPort), '+short', `web_client\\;10\\.0\\.0\\.200*.klen.${ZONE}`, 'TXT']);
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
