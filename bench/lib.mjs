/**
 * Shared pieces of the benchmarks: private processes on loopback (stopped on exit, also on Ctrl-C),
 * tools installed when missing, dnsperf runs parsed, process CPU and memory read from /proc, tables.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { freePort } from '../dist/common/ports.js';

export { freePort };
export const root = fileURLToPath(new URL('..', import.meta.url));
export const dist = (p) => join(root, 'dist', p);
export const scratch = mkdtempSync(join(tmpdir(), 'totalizer-bench-'));

const started = new Set();
function stopAllNow() {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.on('exit', stopAllNow);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** Installs Debian packages for missing commands when running as root; otherwise says what to install. */
export function need(commands) {
  const missing = Object.entries(commands).filter(([cmd]) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0);
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map(([, pkg]) => pkg))];
  if (process.getuid?.() !== 0) {
    console.error(`bench: missing ${missing.map(([c]) => c).join(', ')}; install with: sudo apt-get install -y ${pkgs.join(' ')}`);
    process.exit(2);
  }
  console.error(`bench: installing ${pkgs.join(' ')}`);
  spawnSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkgs.join(' ')}`], { stdio: 'inherit' });
}

/** Starts a process and resolves once its output matches `ready`. */
export function startProcess(cmd, args, ready, { env, timeoutMs = 20_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    started.add(child);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start:\n${out}`)), timeoutMs);
    let isReady = false;
    const onData = (d) => {
      // The last 100 kB of output are kept: enough for start-up lines and a final report.
      out = (out + d).slice(-100_000);
      if (!isReady && ready.test(out)) {
        isReady = true;
        clearTimeout(timer);
        resolve({
          child,
          pid: child.pid,
          output: () => out,
          stop: (signal = 'SIGTERM') =>
            new Promise((res) => {
              if (child.exitCode !== null || child.signalCode !== null) return res(child.exitCode);
              child.once('exit', (code) => res(code));
              child.kill(signal);
            }),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${cmd} exited (${code}) while starting:\n${out}`)));
  });
}

export async function startRedis() {
  const port = await freePort();
  const proc = await startProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], /Ready to accept connections/);
  const client = new Redis({ port, host: '127.0.0.1' });
  return { port, url: `redis://127.0.0.1:${port}`, client, proc, stop: async () => { client.disconnect(); await proc.stop(); } };
}

/** rkvdns on a free port with `settings` (upstream names) on top of quiet defaults. */
export async function startRkvdns(redisUrl, zone, settings = {}, nodeArgs = []) {
  const port = await freePort();
  const sets = Object.entries({ ZONE: zone, STATS: 0, LOG_LEVEL: 'warn', RKVDNS_FQDN: `ns.${zone}`, SOA_CONTACT: `hostmaster.${zone}`, ...settings }).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
  const proc = await startProcess('node', [...nodeArgs, dist('cli/rkvdns.js'), '--listen', `127.0.0.1:${port}`, '--redis', redisUrl, ...sets, '--log-level', 'info'], / on 127\.0\.0\.1:\d+ /);
  return { port, proc };
}

/** CPU seconds (user + system) and memory of a process, from /proc. */
export function usage(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuS: (Number(f[11]) + Number(f[12])) / 100, rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** CPU seconds and RSS summed over processes (a server and its workers); a process gone counts as 0. */
export function usageOf(pids) {
  return pids.map((p) => { try { return usage(p); } catch { return { cpuS: 0, rssMb: 0 }; } }).reduce((a, u) => ({ cpuS: a.cpuS + u.cpuS, rssMb: a.rssMb + u.rssMb }), { cpuS: 0, rssMb: 0 });
}

/** A private unbound on a free loopback port, forwarding `zone` to rkvdns on `stubPort` (the drop-in's TCP limits). */
export async function startUnbound(zone, stubPort) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-unbound-'));
  writeFileSync(join(dir, 'unbound.conf'), [
    'server:', '  interface: 127.0.0.1', `  port: ${port}`, '  do-daemonize: no', '  use-syslog: no', '  logfile: ""',
    '  username: ""', '  chroot: ""', `  directory: "${dir}"`, '  pidfile: ""', '  do-ip6: no', '  access-control: 127.0.0.0/8 allow',
    '  do-not-query-localhost: no', '  module-config: "iterator"', '  qname-minimisation: no', '  local-zone: "test." nodefault',
    '  msg-cache-size: 64m', '  rrset-cache-size: 128m', '  incoming-num-tcp: 128', '  outgoing-num-tcp: 128',
    'stub-zone:', `  name: "${zone}"`, `  stub-addr: 127.0.0.1@${stubPort}`, '',
  ].join('\n'));
  const proc = await startProcess('unbound', ['-d', '-c', join(dir, 'unbound.conf')], /start of service/);
  return { port, stop: () => proc.stop() };
}

/** Measures `fn` while sampling processes (a server and its workers): summed CPU share and peak summed RSS. */
export async function measured(pids, fn) {
  const sum = () => usageOf(pids);
  const before = sum();
  const t0 = performance.now();
  let peak = before.rssMb;
  const sampler = setInterval(() => { peak = Math.max(peak, sum().rssMb); }, 200);
  try {
    const result = await fn();
    const after = sum();
    const seconds = (performance.now() - t0) / 1000;
    return { result, cpuPct: ((after.cpuS - before.cpuS) / seconds) * 100, rssMb: Math.max(peak, after.rssMb) };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * Runs dnsperf over `queries` ("name TYPE" lines) and parses its summary. With `latencies`, dnsperf -v
 * writes one line per answer to a file (a pipe could stall dnsperf and inflate its own latencies), and
 * p50/p99 are computed from those lines.
 */
export function dnsperf({ port, queries, seconds = 10, clients = 20, outstanding = 500, tcp = false, edns = false, qps, latencies = false, timeout = 2 }) {
  const tag = Math.random().toString(36).slice(2);
  const file = join(scratch, `q-${tag}.txt`);
  const outFile = join(scratch, `out-${tag}.txt`);
  writeFileSync(file, queries.join('\n') + '\n');
  const args = ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(seconds), '-c', String(clients), '-q', String(outstanding), '-t', String(timeout), '-T', '1'];
  if (tcp) args.push('-m', 'tcp');
  if (edns) args.push('-e');
  if (qps) args.push('-Q', String(qps));
  if (latencies) args.push('-v');
  return new Promise((resolve, reject) => {
    const out = openSync(outFile, 'w');
    const child = spawn('dnsperf', args, { stdio: ['ignore', out, 'pipe'] });
    closeSync(out);
    started.add(child);
    let err = '';
    child.stderr.on('data', (d) => { if (err.length < 10_000) err += d; });
    child.on('error', reject);
    child.on('exit', (code) => {
      const s = readFileSync(outFile, 'utf8');
      rmSync(outFile);
      const num = (rx) => Number(rx.exec(s)?.[1] ?? NaN);
      if (code !== 0 || !/Queries sent/.test(s)) return reject(new Error(`dnsperf failed (${code}): ${err}${s.slice(-2000)}`));
      // "> NOERROR name TYPE 0.000123"; lost queries have no latency and are left out.
      const lat = [];
      for (const m of s.matchAll(/^> \S+ .* (\d+\.\d+)$/gm)) lat.push(Number(m[1]) * 1000);
      lat.sort((a, b) => a - b);
      const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))] : NaN);
      resolve({
        sent: num(/Queries sent:\s+(\d+)/),
        completed: num(/Queries completed:\s+(\d+)/),
        lost: num(/Queries lost:\s+(\d+)/),
        qps: num(/Queries per second:\s+([\d.]+)/),
        avgMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
        rcodes: /Response codes:\s+(.*)/.exec(s)?.[1] ?? '',
        p50Ms: pct(50),
        p99Ms: pct(99),
      });
    });
  });
}

/** Reads the server's own counters (stats.<zone>) as a map. */
export async function serverStats(port, zone) {
  const out = spawnSync('dig', ['@127.0.0.1', '-p', String(port), '+tcp', '+short', `stats.${zone}`, 'TXT'], { encoding: 'utf8' }).stdout;
  return Object.fromEntries(out.trim().split('\n').map((l) => l.replace(/"/g, '').split(':')).map(([k, v]) => [k, Number(v)]));
}

/**
 * A totalizer of `keys` bucket keys `<prefix>;10.a.b.1,200;web<s>;<ts>` (`sources` sources × `buckets` buckets
 * 300 s apart, ending 300 s before `now`), written with MSET; returns the sum of all values.
 */
export async function seedBuckets(client, prefix, keys, now, { sources = 4, buckets = 10 } = {}) {
  const groups = keys / sources / buckets;
  let expected = 0;
  const kv = [];
  for (let g = 0; g < groups; g++) {
    for (let s = 0; s < sources; s++) {
      for (let b = 0; b < buckets; b++) {
        const n = 1 + ((g * 7 + s * 3 + b) % 50);
        expected += n;
        kv.push(`${prefix};10.${Math.floor(g / 250)}.${g % 250}.1,200;web${s};${now - 300 - b * 300}`, String(n));
      }
    }
  }
  for (let i = 0; i < kv.length; i += 2000) await client.mset(kv.slice(i, i + 2000));
  return expected;
}

/** Prints rows (objects with the same keys) as an aligned text table; returns the text for the docs. */
export function table(title, rows) {
  const cols = Object.keys(rows[0]);
  const cells = rows.map((r) => cols.map((c) => String(r[c])));
  const w = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const line = (vals) => '| ' + vals.map((v, i) => v.padEnd(w[i])).join(' | ') + ' |';
  const text = [`### ${title}`, '', line(cols), '|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|', ...cells.map(line), ''].join('\n');
  console.log(text);
  return text;
}

export const fmt = {
  int: (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–'),
  ms: (n) => (Number.isFinite(n) ? n.toFixed(2) : '–'),
  pct: (n) => (Number.isFinite(n) ? `${n.toFixed(n < 1 ? 2 : 1)}%` : '–'),
};
