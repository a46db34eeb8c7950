/**
 * Shared pieces of the benchmarks: private processes on loopback from the harness (dist/harness, stopped on
 * exit, also on Ctrl-C), tools installed when missing, dnsperf runs parsed, process CPU and memory read from /proc, tables.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../dist/common/ports.js';
import { have, startProcess, track, usage as processUsage } from '../dist/harness/processes.js';
import { startRkvdns as startProgram } from '../dist/harness/programs.js';
import { startRedis } from '../dist/harness/redis.js';
import { serverBlock, startUnbound as startUnboundWith, stubZone } from '../dist/harness/unbound.js';

export { freePort, startProcess, startRedis };
export const root = fileURLToPath(new URL('..', import.meta.url));
export const dist = (p) => join(root, 'dist', p);
export const scratch = mkdtempSync(join(tmpdir(), 'totalizer-bench-'));

// The harness kills what it started when this process exits; Ctrl-C exits.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** Installs Debian packages for missing commands when running as root; otherwise says what to install. */
export function need(commands) {
  const missing = Object.entries(commands).filter(([cmd]) => !have(cmd));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map(([, pkg]) => pkg))];
  if (process.getuid?.() !== 0) {
    console.error(`bench: missing ${missing.map(([c]) => c).join(', ')}; install with: sudo apt-get install -y ${pkgs.join(' ')}`);
    process.exit(2);
  }
  console.error(`bench: installing ${pkgs.join(' ')}`);
  // A server package (nsd, knot) would start its system service on port 53 unless policy-rc.d says no.
  const policy = '/usr/sbin/policy-rc.d';
  spawnSync(
    'sh',
    [
      '-c',
      `made=; [ -e ${policy} ] || { printf '#!/bin/sh\\nexit 101\\n' >${policy}; chmod +x ${policy}; made=1; }; ` +
        `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${pkgs.join(' ')}; ` +
        `[ -z "$made" ] || rm -f ${policy}`,
    ],
    { stdio: 'inherit' },
  );
}

/** rkvdns on a free port with `settings` (upstream names) on top of quiet defaults. */
export function startRkvdns(redisUrl, zone, settings = {}, nodeArgs = [], port = 0) {
  return startProgram(redisUrl, zone, {
    port,
    settings: { STATS: 0, LOG_LEVEL: 'warn', RKVDNS_FQDN: `ns.${zone}`, SOA_CONTACT: `hostmaster.${zone}`, ...settings },
    args: ['--log-level', 'info'],
    nodeArgs,
  });
}

/** CPU seconds (user + system) and memory in MB of a process, from /proc. */
export function usage(pid) {
  const u = processUsage(pid);
  return { cpuS: u.cpuS, rssMb: u.rssKb / 1024, hwmMb: u.hwmKb / 1024 };
}

/** CPU seconds and RSS summed over processes (a server and its workers); a process gone counts as 0. */
export function usageOf(pids) {
  return pids
    .map((p) => {
      try {
        return usage(p);
      } catch {
        return { cpuS: 0, rssMb: 0 };
      }
    })
    .reduce((a, u) => ({ cpuS: a.cpuS + u.cpuS, rssMb: a.rssMb + u.rssMb }), { cpuS: 0, rssMb: 0 });
}

/** A private unbound on a free loopback port, forwarding `zone` to rkvdns on `stubPort`, with big caches and TCP limits. */
export function startUnbound(zone, stubPort) {
  const extra = ['msg-cache-size: 64m', 'rrset-cache-size: 128m', 'incoming-num-tcp: 128', 'outgoing-num-tcp: 128'];
  return startUnboundWith(serverBlock(extra) + stubZone(zone, stubPort));
}

/** Measures `fn` while sampling processes (a server and its workers): summed CPU share and peak summed RSS. */
export async function measured(pids, fn) {
  const sum = () => usageOf(pids);
  const before = sum();
  const t0 = performance.now();
  let peak = before.rssMb;
  const sampler = setInterval(() => {
    peak = Math.max(peak, sum().rssMb);
  }, 200);
  try {
    const result = await fn();
    const after = sum();
    const seconds = (performance.now() - t0) / 1000;
    return { result, seconds, cpuPct: ((after.cpuS - before.cpuS) / seconds) * 100, rssMb: Math.max(peak, after.rssMb) };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * Runs dnsperf over `queries` ("name TYPE" lines) and parses its summary. With `latencies`, dnsperf -v
 * writes one line per answer to a file (a pipe could stall dnsperf and inflate its own latencies), and
 * p50/p99 are computed from those lines.
 */
export function dnsperf({
  port,
  queries,
  seconds = 10,
  clients = 20,
  outstanding = 500,
  tcp = false,
  edns = false,
  qps,
  latencies = false,
  timeout = 2,
  cpus,
}) {
  const tag = Math.random().toString(36).slice(2);
  const file = join(scratch, `q-${tag}.txt`);
  const outFile = join(scratch, `out-${tag}.txt`);
  writeFileSync(file, queries.join('\n') + '\n');
  const args = [
    '-s',
    '127.0.0.1',
    '-p',
    String(port),
    '-d',
    file,
    '-l',
    String(seconds),
    '-c',
    String(clients),
    '-q',
    String(outstanding),
    '-t',
    String(timeout),
    '-T',
    '1',
  ];
  if (tcp) args.push('-m', 'tcp');
  if (edns) args.push('-e');
  if (qps) args.push('-Q', String(qps));
  if (latencies) args.push('-v');
  return new Promise((resolve, reject) => {
    const out = openSync(outFile, 'w');
    // `cpus` (taskset's list): dnsperf kept to those cores, off the server's.
    const [cmd, argv] = cpus === undefined ? ['dnsperf', args] : ['taskset', ['-c', cpus, 'dnsperf', ...args]];
    const child = track(spawn(cmd, argv, { stdio: ['ignore', out, 'pipe'] }));
    closeSync(out);
    let err = '';
    child.stderr.on('data', (d) => {
      if (err.length < 10_000) err += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const s = readFileSync(outFile, 'utf8');
      rmSync(outFile);
      const num = (rx) => Number(rx.exec(s)?.[1] ?? NaN);
      if (code !== 0 || !/Queries sent/.test(s)) return reject(new Error(`dnsperf failed (${code}): ${err}${s.slice(-2000)}`));
      // "> NOERROR name TYPE 0.000123", in the order the answers came; lost queries have no latency and are left out.
      const lat = [];
      for (const m of s.matchAll(/^> \S+ .* (\d+\.\d+)$/gm)) lat.push(Number(m[1]) * 1000);
      const late = lateBursts(lat);
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
        late,
      });
    });
  });
}

/**
 * Answers over 2 ms, and in how many bursts they came: runs of them one after another in the order received. A burst
 * as long as the queries outstanding is a stop of the whole exchange (the server's, the load generator's or the
 * machine's), not one slow answer.
 */
function lateBursts(latenciesMs) {
  let answers = 0,
    bursts = 0,
    run = 0,
    longest = 0;
  for (const ms of latenciesMs) {
    if (ms > 2) {
      answers++;
      if (run++ === 0) bursts++;
      longest = Math.max(longest, run);
    } else run = 0;
  }
  return { answers, bursts, longest };
}

/**
 * A server's /metrics text. Once more on a failure: the server closes a keep-alive connection idle for 5 s, and a
 * scrape after a 5-second measurement can be sent on it just as it closes.
 */
export async function scrapeMetrics(port) {
  const once = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  try {
    return await once();
  } catch {
    return once();
  }
}

/** rkvdns's sojourn histogram (kernel receipt to answer sent, batched UDP) in /metrics text: [le, cumulative count] pairs. */
export function sojournBuckets(text) {
  return [...text.matchAll(/^rkvdns_udp_sojourn_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)].map((m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
}

/** All processes of a server: the primary and its descendants (rkvdns's workers; NSD's serving process is a grandchild). */
export const tree = (pid) => [
  pid,
  ...spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n')
    .filter(Boolean)
    .flatMap((child) => tree(Number(child))),
];

/** Reads the server's own counters (stats.<zone>) as a map. */
export async function serverStats(port, zone) {
  const out = spawnSync('dig', ['@127.0.0.1', '-p', String(port), '+tcp', '+short', `stats.${zone}`, 'TXT'], { encoding: 'utf8' }).stdout;
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => l.replace(/"/g, '').split(':'))
      .map(([k, v]) => [k, Number(v)]),
  );
}

/** The median of some numbers (rounds of a measurement). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** dnsperf lines that GET each key seedNumbered writes: `k<i>.get.<zone> TXT`. */
export const numberedQueries = (n, zone) => Array.from({ length: n }, (_, i) => `k${i}.get.${zone} TXT`);

/** The same names as a static zone's TXT records (for NSD and Knot), relative to the zone. */
export const numberedRecords = (n) => Array.from({ length: n }, (_, i) => [`k${i}.get`, String(i)]);

/** Keys `k0` … `k<n-1>`, each holding its number, written with MSET 5,000 at a time. */
export async function seedNumbered(client, n) {
  for (let i = 0; i < n; i += 5000) {
    const kv = [];
    for (let j = i; j < Math.min(n, i + 5000); j++) kv.push(`k${j}`, String(j));
    await client.mset(kv);
  }
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
  /** dnsperf's answers over 2 ms and the bursts they came in (dnsperf with latencies). */
  late: (l) => (l ? `${fmt.int(l.answers)} in ${fmt.int(l.bursts)} bursts (longest ${fmt.int(l.longest)})` : '–'),
  pct: (n) => (Number.isFinite(n) ? `${n.toFixed(n < 1 ? 2 : 1)}%` : '–'),
};
