/** Our own programs, as built (dist/cli, also when this module runs from src/), started on free loopback ports and stopped by PID. */
import { fileURLToPath } from 'node:url';
import { formatHostPort } from '../common/hostport.js';
import { startProcess, type Started } from './processes.js';

export const bin = (name: 'rkvdns' | 'agent' | 'totalize' | 'demo') => fileURLToPath(new URL(`../../dist/cli/${name}.js`, import.meta.url));

export interface RunningProgram {
  port: number;
  proc: Started;
  stop(): Promise<number | null>;
}

export interface RkvdnsOptions {
  /** Upstream setting names, passed as --set NAME=value (booleans as True/False). */
  settings?: Record<string, string | number | boolean>;
  /** A config file (--config) under the command-line settings. */
  config?: string;
  /** More rkvdns arguments. */
  args?: string[];
  /** Arguments for node itself (--cpu-prof, …). */
  nodeArgs?: string[];
  /** Default 0: the kernel picks, and the port is read off the start-up line. */
  port?: number;
  /** The address to listen on (INTERFACE); default 127.0.0.1. */
  host?: string;
  /** Another build's rkvdns.js (to compare builds); default this checkout's. */
  bin?: string;
}

/**
 * RKVDNS_UDP_IO=dgram|batched|auto in the environment sets UDP_IO for every server started here that does not
 * set it itself: the way CI runs the same tests over both UDP paths.
 */
export async function startRkvdns(redisUrl: string, zone: string, o: RkvdnsOptions = {}): Promise<RunningProgram> {
  const io = process.env.RKVDNS_UDP_IO;
  const settings = io && !o.settings?.UDP_IO ? { UDP_IO: io, ...o.settings } : o.settings;
  const sets = Object.entries(settings ?? {}).flatMap(([k, v]) => ['--set', `${k}=${typeof v === 'boolean' ? (v ? 'True' : 'False') : v}`]);
  const args = [
    ...(o.nodeArgs ?? []),
    o.bin ?? bin('rkvdns'),
    ...(o.config ? ['--config', o.config] : []),
    '--listen',
    formatHostPort({ host: o.host ?? '127.0.0.1', port: o.port ?? 0 }),
    '--redis',
    redisUrl,
    '--zone',
    zone,
    ...sets,
    ...(o.args ?? []),
  ];
  const listen = formatHostPort({ host: o.host ?? '127.0.0.1', port: 0 }).replace(/0$/, '');
  const proc = await startProcess(process.execPath, args, new RegExp(` on ${listen.replace(/[.[\]]/g, '\\$&')}(\\d+) `));
  return { port: Number(proc.match[1]), proc, stop: () => proc.stop() };
}

/** Resolves when each of `bindings` listeners has logged "listening on udp". */
export async function startAgent(configPath: string, args: string[] = [], bindings = 1): Promise<Omit<RunningProgram, 'port'>> {
  const proc = await startProcess(
    process.execPath,
    [bin('agent'), '--config', configPath, ...args],
    new RegExp(`(listening on udp[^\\n]*\\n[^]*){${bindings}}`),
  );
  return { proc, stop: () => proc.stop() };
}
