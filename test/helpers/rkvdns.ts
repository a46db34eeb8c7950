/** Starts the built rkvdns CLI on a free loopback port and stops it by PID. */
import { fileURLToPath } from 'node:url';
import { ask, txt } from './dns.js';
import { startProcess, type Started } from './process.js';

export const RKVDNS_BIN = fileURLToPath(new URL('../../dist/cli/rkvdns.js', import.meta.url));
export const ZONE = 'rkvdns.test';

export interface TestRkvdns {
  port: number;
  proc: Started;
  stop(): Promise<number | null>;
}

/** `settings` are passed as --set NAME=value; ZONE, REDIS_SERVER and the listen address are filled in. */
export async function startRkvdns(redisUrl: string, settings: Record<string, string | number | boolean> = {}, extraArgs: string[] = []): Promise<TestRkvdns> {
  const sets = Object.entries(settings).flatMap(([k, v]) => ['--set', `${k}=${typeof v === 'boolean' ? (v ? 'True' : 'False') : v}`]);
  const proc = await startProcess('node', [RKVDNS_BIN, '--listen', '127.0.0.1:0', '--redis', redisUrl, '--zone', ZONE, ...sets, ...extraArgs], / on 127\.0\.0\.1:(\d+) /);
  return { port: Number(proc.match[1]), proc, stop: () => proc.stop() };
}

/** The `name:value` lines of stats.<zone> or queues.<zone>, asked over TCP (the answer outgrows 512 bytes). */
export async function introspect(port: number, what: 'stats' | 'queues'): Promise<string[]> {
  return txt(await ask(port, `${what}.${ZONE}`, 'TXT', { tcp: true })).map((r) => r[0]!);
}

/** One of the server's counters (stats.<zone>), 0 while it has not been counted. */
export async function counter(port: number, name: string): Promise<number> {
  return Number((await introspect(port, 'stats')).find((l) => l.startsWith(`${name}:`))?.split(':')[1] ?? 0);
}
