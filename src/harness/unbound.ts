/** A private unbound (Debian's package) on a free loopback port, with configurations built for it. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../common/ports.js';
import { startProcess, type Started } from './processes.js';

export interface RunningUnbound {
  port: number;
  proc: Started;
  stop(): Promise<number | null>;
}

/** Runs unbound with `config` (a complete unbound.conf); `{{PORT}}` and `{{DIR}}` are filled in. */
export async function startUnbound(config: string): Promise<RunningUnbound> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'unbound-'));
  const path = join(dir, 'unbound.conf');
  writeFileSync(path, config.replaceAll('{{PORT}}', String(port)).replaceAll('{{DIR}}', dir));
  const proc = await startProcess('unbound', ['-d', '-c', path], /start of service/);
  return { port, proc, stop: () => proc.stop() };
}

/** What a private unbound needs to run here: loopback only, no daemon, no chroot, its own directory. */
export function loopbackServer(port: number | string, dir: string, extra: string[] = []): string {
  return [
    'server:',
    '  interface: 127.0.0.1',
    `  port: ${port}`,
    '  do-daemonize: no',
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 1',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    '  do-ip6: no',
    '  access-control: 127.0.0.0/8 allow',
    ...extra.map((l) => `  ${l}`),
    '',
  ].join('\n');
}

/** A server block for forwarding test zones to rkvdns on loopback: also no DNSSEC and no qname minimisation. */
export function serverBlock(extra: string[] = []): string {
  return loopbackServer('{{PORT}}', '{{DIR}}', [
    'do-not-query-localhost: no',
    'module-config: "iterator"',
    'qname-minimisation: no',
    // unbound answers the RFC 6761 name test. itself by default; our test zones live under it.
    'local-zone: "test." nodefault',
    ...extra,
  ]);
}

export function stubZone(zone: string, port: number): string {
  return ['stub-zone:', `  name: "${zone}"`, `  stub-addr: 127.0.0.1@${port}`, ''].join('\n');
}
