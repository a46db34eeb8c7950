/**
 * The five caching resolvers operators run (from Debian's packages), each started on a free loopback port with
 * exactly the configuration shipped in zones/: the lines its EDIT comments mark get the test's zone, address and
 * port, and the test adds only what a private instance needs (its listen port, a scratch directory, no daemon, and root hints that point at
 * loopback so nothing is ever sent off this machine). Stopped by PID afterwards.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ask } from './dns.js';
import { freePort } from './ports.js';
import { run, startProcess, type Started } from './process.js';
import { loopbackServer } from './unbound.js';

export const RESOLVERS = ['unbound', 'bind', 'kresd', 'pdns-recursor', 'dnsmasq'] as const;
export type ResolverName = (typeof RESOLVERS)[number];

/** The zone, rkvdns address and port the shipped files name. */
export const SHIPPED_ZONE = 'rkvdns.example.com';
const SHIPPED_ADDRESS = '127.0.0.1';
const SHIPPED_PORT = '5300';

export const shipped = (name: string) => fileURLToPath(new URL(`../../zones/${name}`, import.meta.url));

export interface ResolverOptions {
  rkvdnsPort: number;
  /** The zone rkvdns serves; default the shipped one. */
  zone?: string;
  /** 'off': the resolver's qname minimisation switched off; 'default': as the resolver ships. */
  minimisation: 'off' | 'default';
  /** More settings in the resolver's own syntax (BIND: inside options), after the test's. */
  extra?: string[];
}

export interface TestResolver {
  name: ResolverName;
  port: number;
  proc: Started;
  stop(): Promise<number | null>;
}

const COMMENT = /^\s*(#|\/\/|--)/;
const EDIT = /^\s*(#|\/\/|--)\s*EDIT\b/;

/**
 * A shipped file as an operator edits it: the line after each EDIT comment gets the zone, address and port, and no
 * other line changes. Fails when a line names the zone, the address or the port without an EDIT comment before it
 * (a place the operator would miss), or an EDIT comment stands before a line that names none of them.
 */
export function shippedFor(file: string, o: Pick<ResolverOptions, 'rkvdnsPort' | 'zone'>): string {
  const lines = readFileSync(shipped(file), 'utf8').split('\n');
  const names = (l: string) => l.includes(SHIPPED_ZONE) || l.includes(SHIPPED_ADDRESS) || l.includes(SHIPPED_PORT);
  const edits = lines.map((line, i) => {
    if (COMMENT.test(line)) return line;
    const marked = i > 0 && EDIT.test(lines[i - 1]!);
    if (names(line) !== marked)
      throw new Error(
        `zones/${file} line ${i + 1}: ${marked ? 'an EDIT comment before a line that names no zone, address or port' : 'names the zone, address or port without an EDIT comment before it'}`,
      );
    return marked
      ? line
          .replaceAll(SHIPPED_ZONE, o.zone ?? SHIPPED_ZONE)
          .replaceAll(SHIPPED_ADDRESS, '127.0.0.1')
          .replaceAll(SHIPPED_PORT, String(o.rkvdnsPort))
      : line;
  });
  return edits.join('\n');
}

/**
 * Where the root hints point: a loopback address nothing listens on, so a resolver that primes or refreshes
 * trust anchors stays on this machine. Not 127.0.0.1: kresd marks an address that refused a connection as bad
 * for a while, and rkvdns listens there.
 */
const LOOPBACK_ROOT = '127.0.0.254';

function writeRootHints(dir: string): string {
  const path = join(dir, 'root.hints');
  writeFileSync(path, `. 3600000 NS root.loopback.\nroot.loopback. 3600000 A ${LOOPBACK_ROOT}\n`);
  return path;
}

interface Launch {
  cmd: string;
  args: string[];
}

function unbound(dir: string, port: number, o: ResolverOptions): Launch {
  let conf = shippedFor('unbound.conf', o);
  if (o.minimisation === 'default') conf = conf.replace(/^\s*qname-minimisation: no\s*$/m, '');
  writeFileSync(join(dir, 'unbound.conf'), loopbackServer(port, dir, [`root-hints: "${writeRootHints(dir)}"`, ...(o.extra ?? [])]) + conf);
  return { cmd: 'unbound', args: ['-d', '-c', join(dir, 'unbound.conf')] };
}

function bind(dir: string, port: number, o: ResolverOptions): Launch {
  const conf = shippedFor('named.conf', o);
  const framing = [
    `directory "${dir}";`,
    `listen-on port ${port} { 127.0.0.1; };`,
    'listen-on-v6 { none; };',
    'pid-file none;',
    `session-keyfile "${dir}/session.key";`,
    'allow-query { 127.0.0.0/8; };',
    'allow-recursion { 127.0.0.0/8; };',
  ];
  if (o.minimisation === 'off') framing.push('qname-minimization disabled;');
  framing.push(...(o.extra ?? []));
  const merged = conf.replace(/^options \{$/m, `options {\n    ${framing.join('\n    ')}`) + `\nzone "." { type hint; file "${writeRootHints(dir)}"; };\n`;
  if (merged === conf) throw new Error('zones/named.conf has no "options {" line to add the test settings to');
  writeFileSync(join(dir, 'named.conf'), merged);
  return { cmd: 'named', args: ['-g', '-c', join(dir, 'named.conf')] };
}

function kresd(dir: string, port: number, o: ResolverOptions): Launch {
  const framing = [
    `net.listen('127.0.0.1', ${port}, { kind = 'dns' })`,
    "modules = { 'hints > iterate' }",
    `cache.open(20 * MB, 'lmdb://${dir}/cache')`,
    `hints.root({ ['root.loopback.'] = '${LOOPBACK_ROOT}' })`,
    // Scoped to the zone: the same flag on policy.all() also stops kresd's own root queries.
    ...(o.minimisation === 'off' ? [`policy.add(policy.suffix(policy.FLAGS({ 'NO_MINIMIZE' }), { todname('${o.zone ?? SHIPPED_ZONE}') }))`] : []),
    ...(o.extra ?? []),
    '',
  ];
  writeFileSync(join(dir, 'kresd.conf'), framing.join('\n') + shippedFor('kresd.conf', o));
  return { cmd: 'kresd', args: ['-n', '-c', join(dir, 'kresd.conf'), dir] };
}

function pdnsRecursor(dir: string, port: number, o: ResolverOptions): Launch {
  mkdirSync(join(dir, 'recursor.d'));
  writeFileSync(join(dir, 'recursor.d', 'totalizer.conf'), shippedFor('recursor.conf', o));
  writeFileSync(join(dir, 'recursor.lua'), shippedFor('recursor.lua', o));
  const framing = [
    'local-address=127.0.0.1',
    `local-port=${port}`,
    `socket-dir=${dir}`,
    'daemon=no',
    'write-pid=no',
    'disable-syslog=yes',
    'allow-from=127.0.0.0/8',
    `hint-file=${writeRootHints(dir)}`,
    'security-poll-suffix=',
    `lua-config-file=${join(dir, 'recursor.lua')}`,
    `include-dir=${join(dir, 'recursor.d')}`,
    ...(o.minimisation === 'off' ? ['qname-minimization=no'] : []),
    ...(o.extra ?? []),
    '',
  ];
  writeFileSync(join(dir, 'recursor.conf'), framing.join('\n'));
  return { cmd: 'pdns_recursor', args: [`--config-dir=${dir}`] };
}

function dnsmasq(dir: string, port: number, o: ResolverOptions): Launch {
  // dnsmasq forwards whole names: it has no qname minimisation to switch.
  const framing = [`port=${port}`, 'listen-address=127.0.0.1', 'bind-interfaces', 'no-resolv', 'no-hosts', ...(o.extra ?? []), ''];
  writeFileSync(join(dir, 'dnsmasq.conf'), framing.join('\n') + shippedFor('dnsmasq.conf', o));
  return { cmd: 'dnsmasq', args: ['-k', '-C', join(dir, 'dnsmasq.conf'), '--log-facility=-', '--pid-file='] };
}

const LAUNCHERS: Record<ResolverName, (dir: string, port: number, o: ResolverOptions) => Launch> = {
  unbound,
  bind,
  kresd,
  'pdns-recursor': pdnsRecursor,
  dnsmasq,
};

/** Asks the zone's SOA until the resolver answers at all (forwarded to rkvdns), at most `timeoutMs`. */
async function untilAnswering(port: number, zone: string, proc: Started, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`exited with ${proc.child.exitCode}:\n${proc.output()}`);
    try {
      await ask(port, zone, 'SOA', { timeoutMs: 500 });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`not answering on port ${port} after ${timeoutMs} ms:\n${proc.output()}`);
}

export async function startResolver(name: ResolverName, o: ResolverOptions): Promise<TestResolver> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const { cmd, args } = LAUNCHERS[name](dir, port, o);
  const proc = await startProcess(cmd, args, null);
  try {
    await untilAnswering(port, o.zone ?? SHIPPED_ZONE, proc, 20_000);
  } catch (e) {
    await proc.stop('SIGKILL');
    throw new Error(`${name} (${cmd} ${args.join(' ')}): ${(e as Error).message}`, { cause: e });
  }
  return { name, port, proc, stop: () => proc.stop() };
}

/** The version string each resolver reports, for the README's table. */
export async function resolverVersion(name: ResolverName): Promise<string> {
  const [cmd, args] = (
    {
      unbound: ['unbound', ['-V']],
      bind: ['named', ['-v']],
      kresd: ['kresd', ['--version']],
      'pdns-recursor': ['pdns_recursor', ['--version']],
      dnsmasq: ['dnsmasq', ['--version']],
    } as const
  )[name];
  const out = await run(cmd, [...args]);
  // The first version number printed (pdns_recursor starts its line with a date).
  return /\b(\d+\.\d+(?:\.\d+)?)\b/.exec(out.stdout + out.stderr)?.[1] ?? 'unknown';
}
