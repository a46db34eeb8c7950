/** Starts the built rkvdns CLI on a free loopback port and stops it by PID. */
import { bin, startRkvdns as start, type RunningProgram } from '../../src/harness/programs.js';
import { ask, txt } from './dns.js';

export const RKVDNS_BIN = bin('rkvdns');
export const ZONE = 'rkvdns.test';

export type TestRkvdns = RunningProgram;

/** `settings` are passed as --set NAME=value; ZONE, REDIS_SERVER and the listen address are filled in. */
export function startRkvdns(
  redisUrl: string,
  settings: Record<string, string | number | boolean> = {},
  extraArgs: string[] = [],
  host?: string,
): Promise<TestRkvdns> {
  return start(redisUrl, ZONE, { settings, args: extraArgs, ...(host ? { host } : {}) });
}

/** The `name:value` lines of stats.<zone> or queues.<zone>, asked over TCP (the answer outgrows 512 bytes). */
export async function introspect(port: number, what: 'stats' | 'queues', from?: string): Promise<string[]> {
  const d = await ask(port, `${what}.${ZONE}`, 'TXT', { tcp: true, ...(from ? { from } : {}) });
  if (d.rcode !== 'NOERROR') throw new Error(`${what}.${ZONE} answered ${d.rcode}`);
  return txt(d).map((r) => r[0]!);
}

/** One of the server's counters (stats.<zone>), 0 while it has not been counted. */
export async function counter(port: number, name: string, from?: string): Promise<number> {
  return Number((await introspect(port, 'stats', from)).find((l) => l.startsWith(`${name}:`))?.split(':')[1] ?? 0);
}
