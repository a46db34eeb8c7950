/**
 * The ceiling: NSD and Knot DNS (Debian's packages) serving a static zone of the same names rkvdns answers,
 * each on a free loopback port with a generated config in the bench's scratch directory, one server process /
 * one UDP worker, in the foreground, stopped by PID.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, scratch, startProcess } from './lib.mjs';

/** A zone file: SOA, NS, and one TXT record per [name, value]. */
function zoneFile(zone, records) {
  const lines = [
    `$ORIGIN ${zone}.`,
    '$TTL 300',
    `@ IN SOA ns.${zone}. hostmaster.${zone}. 1 3600 600 86400 300`,
    `@ IN NS ns.${zone}.`,
    `ns IN A 127.0.0.1`,
    ...records.map(([name, value]) => `${name} IN TXT "${value}"`),
  ];
  return lines.join('\n') + '\n';
}

/**
 * One C server on a free port: its zone file and config (`config(dir, port)`) written to its own scratch
 * directory, then started in the foreground until its log line says it serves.
 */
async function startStatic({ name, label, zone, records, confFile, config, command, args, ready }) {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${zone}.zone`), zoneFile(zone, records));
  const port = await freePort();
  const conf = join(dir, confFile);
  writeFileSync(conf, config(dir, port));
  const proc = await startProcess(command, args(conf), ready, { timeoutMs: 120_000 });
  return { port, proc, name: label };
}

export function startNsd(zone, records) {
  return startStatic({
    name: 'nsd',
    label: 'NSD 4.6, 1 server process',
    zone,
    records,
    confFile: 'nsd.conf',
    command: 'nsd',
    args: (conf) => ['-d', '-c', conf],
    ready: /nsd started/,
    config: (dir, port) => `server:
  ip-address: 127.0.0.1@${port}
  server-count: 1
  username: ""
  zonesdir: "${dir}"
  pidfile: "${dir}/nsd.pid"
  database: ""
  xfrdfile: "${dir}/xfrd.state"
  zonelistfile: "${dir}/zone.list"
  do-ip6: no
  verbosity: 1
  # Debian's NSD limits responses per client network (200/s); a benchmark from one address is not an attack.
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: ${zone}
  zonefile: ${zone}.zone
`,
  });
}

export function startKnot(zone, records) {
  return startStatic({
    name: 'knot',
    label: 'Knot DNS 3.2, 1 UDP worker',
    zone,
    records,
    confFile: 'knot.conf',
    command: 'knotd',
    args: (conf) => ['-c', conf],
    ready: /server started/,
    config: (dir, port) => `server:
    listen: 127.0.0.1@${port}
    rundir: "${dir}"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "${dir}/db"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "${dir}"
    semantic-checks: off
zone:
  - domain: ${zone}
    file: "${zone}.zone"
`,
  });
}
