#!/usr/bin/env node
/**
 * rkvdns under dnsperf: distinct GETs, one repeated GET, 50-record KEYS and SHGET answers over UDP (EDNS,
 * 1232-byte answers, so they arrive truncated) and over TCP; 1 and 2 workers. Baselines from the same run:
 * the null server (same sockets and codec, fixed answer, no Redis), NSD and Knot DNS serving the same names from
 * a static zone (every UDP row also as a share of NSD), and redis-benchmark GET. Then UDP_IO dgram against
 * batched, UDP_ANSWER_CACHE off and on, and /metrics off and on, each alternated round by round on one worker.
 * Before any load, how often the machine itself stops a running thread (bench/stalls.mjs): the floor under the tails.
 *   npm run bench:rkvdns            (BENCH_SECONDS=10 per mix by default)
 *   BENCH_ONLY=io|cache|metrics npm run bench:rkvdns    (only that comparison; BENCH_ROUNDS=3 rounds by default)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startKnot, startNsd } from './c-servers.mjs';
import { machineStalls, stallsText } from './stalls.mjs';
import {
  dnsperf,
  fmt,
  freePort,
  measured,
  median,
  need,
  numberedQueries,
  numberedRecords,
  root,
  scrapeMetrics,
  seedNumbered,
  serverStats,
  sojournBuckets,
  startProcess,
  startRedis,
  startRkvdns,
  table,
  tree,
} from './lib.mjs';

const batchedBuilt = existsSync(`${root}/build/Release/udp_batch.node`);

need({ dnsperf: 'dnsperf', 'redis-server': 'redis-server', 'redis-benchmark': 'redis-tools', dig: 'bind9-dnsutils', nsd: 'nsd', knotd: 'knot' });
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ZONE = 'bench.test';
const UNCACHED = 500_000;

// Before anything else runs (Redis's seeding included): how often the machine itself stops a running thread, the
// floor under the half-load tails below. Not for BENCH_ONLY's comparisons, which measure no tail.
const stalls = process.env.BENCH_ONLY ? null : await machineStalls();

const redis = await startRedis();
// 500,000 small keys: a mix that names each at most once in a run makes every query a Redis lookup.
await seedNumbered(redis.client, UNCACHED);
// 50 bucket keys, the shape the agent writes: 50 records for keys, 50 tuples for shget.
for (let i = 0; i < 50; i++) await redis.client.set(`web_client;10.0.${Math.floor(i / 10)}.${200 + i},200;sophia;1747546909`, String(1000 + i));

const MIXES = [
  { mix: 'GET, 1,000 distinct names', queries: numberedQueries(1000, ZONE), latency: true },
  { mix: `GET, ${fmt.int(UNCACHED)} distinct (all from Redis)`, queries: numberedQueries(UNCACHED, ZONE) },
  { mix: 'GET, one name (marshalled)', queries: [`k7.get.${ZONE} TXT`] },
  { mix: 'KEYS, 50 records, EDNS 1232', queries: [`web_client\\;*.keys.${ZONE} TXT`], edns: true, big: true },
  { mix: 'SHGET, 50 tuples, EDNS 1232', queries: [`web_client\\;*\\;**.shget.${ZONE} TXT`], edns: true, big: true },
  { mix: 'KEYS, 50 records', queries: [`web_client\\;*.keys.${ZONE} TXT`], tcp: true },
  { mix: 'SHGET, 50 tuples', queries: [`web_client\\;*\\;**.shget.${ZONE} TXT`], tcp: true },
];
const CLIENTS = { udp: { clients: 8, outstanding: 200 }, tcp: { clients: 16, outstanding: 256 } };

const rows = [];
/** NSD's q/s per mix, for every row's share of it. */
const nsdQps = new Map();
const row = (mix, transport, workers, r, m, nullQps, extra = '') =>
  rows.push({
    qps: r.qps,
    mix,
    transport,
    workers,
    'q/s': fmt.int(r.qps),
    'of null': transport === 'udp' ? fmt.pct((r.qps / nullQps) * 100) : '–',
    'of NSD': '–',
    lost: fmt.pct((r.lost / r.sent) * 100),
    'avg ms': fmt.ms(r.avgMs),
    'p50 ms': fmt.ms(r.p50Ms),
    'p99 ms': fmt.ms(r.p99Ms),
    'CPU %': fmt.int(m.cpuPct),
    // CPU time per answered query: the cost of the request path plus the sockets, free of the load level.
    'CPU µs/q': fmt.int(((m.cpuPct / 100) * 1e6) / r.qps),
    'RSS MB': fmt.int(m.rssMb),
    notes: extra,
  });

/**
 * Latency at half the measured rate, per query from dnsperf -v, and the CPU per query at that pace: paced
 * queries arrive one per wakeup, so each costs more than at saturation, where wakeups carry many.
 */
async function halfLoad(pids, port, queries, fullQps, metricsPort) {
  const before = metricsPort ? await sojourn(metricsPort) : null;
  const h = await measured(pids, () =>
    dnsperf({ port, queries, seconds: Math.min(SECONDS, 5), qps: Math.round(fullQps / 2), latencies: true, ...CLIENTS.udp }),
  );
  const cpuUs = ((h.cpuPct / 100) * 1e6) / h.result.qps;
  let notes = `p50/p99 at ${fmt.int(fullQps / 2)} q/s (half load), ${fmt.int(cpuUs)} µs CPU/q there; over 2 ms: ${fmt.late(h.result.late)}`;
  if (before) notes += `; in the server: ${sojournText(before, await sojourn(metricsPort))}`;
  return { p50Ms: h.result.p50Ms, p99Ms: h.result.p99Ms, notes };
}

/** rkvdns's sojourn histogram from /metrics: [le, cumulative count] pairs. */
const sojourn = async (metricsPort) => sojournBuckets(await scrapeMetrics(metricsPort));

/** The answers of one measurement (two scrapes' difference): p50 and p99 as the bucket bounds they fall in, and the share within 2 ms. */
function sojournText(before, after) {
  const cum = after.map(([le, n], i) => [le, n - before[i][1]]);
  const total = cum[cum.length - 1][1];
  if (total === 0) return 'no sojourn counted (node:dgram)';
  const at = (p) => cum.find(([, n]) => n >= p * total)[0];
  const ms = (le) => (le === Infinity ? '> 1 s' : `≤ ${le * 1000} ms`);
  const within2 = cum.find(([le]) => le === 0.002)[1];
  return `p50 ${ms(at(0.5))}, p99 ${ms(at(0.99))}, ${fmt.pct((within2 / total) * 100)} within 2 ms`;
}

/**
 * Variants of one server (settings, and what runs beside the load) under the same mixes, alternated round by
 * round so that the machine's drift falls on all of them; medians, every round, and each variant against the
 * first. `during(srv)` runs beside each measurement and returns a stop function.
 */
async function alternated(title, variants, mixes) {
  const runs = new Map();
  for (let round = 0; round < Number(process.env.BENCH_ROUNDS ?? 3); round++)
    for (const v of variants) {
      const extra = v.settings ? await v.settings() : {};
      const srv = await startRkvdns(redis.url, ZONE, { MAX_UDP_PAYLOAD: 1232, ...extra });
      await dnsperf({ port: srv.port, queries: MIXES[0].queries, seconds: 2, ...CLIENTS.udp }); // warm-up (JIT)
      for (const mx of mixes) {
        const stop = v.during?.(extra);
        const m = await measured([srv.proc.pid], () => dnsperf({ port: srv.port, queries: mx.queries, seconds: SECONDS, ...CLIENTS.udp }));
        stop?.();
        const key = `${mx.mix}|${v.label}`;
        runs.set(key, [...(runs.get(key) ?? []), { qps: m.result.qps, cpuUs: ((m.cpuPct / 100) * 1e6) / m.result.qps, lost: m.result.lost / m.result.sent }]);
      }
      await srv.proc.stop();
    }
  const out = [];
  for (const mx of mixes) {
    const base = median(runs.get(`${mx.mix}|${variants[0].label}`).map((x) => x.qps));
    for (const v of variants) {
      const r = runs.get(`${mx.mix}|${v.label}`);
      out.push({
        mix: mx.mix,
        variant: v.label,
        'q/s (median)': fmt.int(median(r.map((x) => x.qps))),
        'q/s per round': r.map((x) => fmt.int(x.qps)).join(', '),
        'CPU µs/q (median)': fmt.int(median(r.map((x) => x.cpuUs))),
        lost: fmt.pct(median(r.map((x) => x.lost)) * 100),
        [`of ${variants[0].label}`]: fmt.pct((median(r.map((x) => x.qps)) / base) * 100),
      });
    }
  }
  table(`${title}, 1 worker, ${SECONDS} s per mix, rounds alternated`, out);
}

/**
 * The cost of METRICS: the same mixes with the endpoint off and on, scraped every second while on (15 times
 * Prometheus's usual rate) so that a scrape's cost counts.
 */
async function metricsCost() {
  const scraper = ({ METRICS }) => {
    const t = setInterval(() => void fetch(`http://${METRICS}/metrics`).then((r) => r.text()), 1000);
    return () => clearInterval(t);
  };
  await alternated(
    'METRICS off and on',
    [
      { label: 'metrics off' },
      { label: 'metrics on, scraped every 1 s', settings: async () => ({ METRICS: `127.0.0.1:${await freePort()}` }), during: scraper },
    ],
    MIXES.slice(0, 2),
  );

  // What one scrape costs the server, idle: 500 scrapes one after another, the server's CPU time divided.
  const mport = await freePort();
  const srv = await startRkvdns(redis.url, ZONE, { METRICS: `127.0.0.1:${mport}` });
  const scrape = () => fetch(`http://127.0.0.1:${mport}/metrics`).then((r) => r.text());
  for (let i = 0; i < 50; i++) await scrape(); // warm-up (JIT)
  const SCRAPES = 500;
  const s = await measured([srv.proc.pid], async () => {
    for (let i = 0; i < SCRAPES; i++) await scrape();
  });
  const bytes = (await scrape()).length;
  await srv.proc.stop();
  console.log(`one /metrics scrape (${fmt.int(bytes)} bytes): ${((s.cpuPct / 100) * (s.seconds / SCRAPES) * 1000).toFixed(2)} ms of server CPU`);
}

/** UDP through node:dgram against the batched addon (recvmmsg/sendmmsg), when it is built. */
async function ioPaths() {
  if (!batchedBuilt) return console.log(`UDP_IO batched: not measured, the addon is not built (npm run build:native)`);
  await alternated(
    'UDP_IO dgram and batched',
    [
      { label: 'dgram', settings: async () => ({ UDP_IO: 'dgram' }) },
      { label: 'batched', settings: async () => ({ UDP_IO: 'batched' }) },
    ],
    [MIXES[2], MIXES[0], MIXES[1]],
  );
}

/** The batched path's answer cache off and on (the cache sends repeats of flight answers without JavaScript). */
async function answerCache() {
  if (!batchedBuilt) return console.log(`UDP_ANSWER_CACHE: not measured, the addon is not built (npm run build:native)`);
  await alternated(
    'UDP_ANSWER_CACHE off and on (UDP_IO batched)',
    [
      { label: 'cache off', settings: async () => ({ UDP_IO: 'batched', UDP_ANSWER_CACHE: 'False' }) },
      { label: 'cache on', settings: async () => ({ UDP_IO: 'batched' }) },
    ],
    [MIXES[2], MIXES[0], MIXES[1]],
  );
}

const ONLY = { io: ioPaths, cache: answerCache, metrics: metricsCost }[process.env.BENCH_ONLY ?? ''];
if (ONLY) {
  await ONLY();
  await redis.stop();
  process.exit(0);
}

// Baseline 1: the null server.
const nullPort = await freePort();
const nul = await startProcess('node', [`${root}/bench/null-server.mjs`, String(nullPort)], /null server on/);
const nullQ = MIXES[0].queries;
await dnsperf({ port: nullPort, queries: nullQ, seconds: 2, ...CLIENTS.udp }); // warm-up
const nm = await measured([nul.pid], () => dnsperf({ port: nullPort, queries: nullQ, seconds: SECONDS, ...CLIENTS.udp }));
const nullQps = nm.result.qps;
const nullHalf = await halfLoad([nul.pid], nullPort, nullQ, nullQps);
Object.assign(nm.result, { p50Ms: nullHalf.p50Ms, p99Ms: nullHalf.p99Ms });
row('null server (fixed TXT, no Redis)', 'udp', 1, nm.result, nm, nullQps, nullHalf.notes);
await nul.stop();

/** rkvdns's saturation rate on the 1,000-name mix (1 worker): NSD and Knot are measured at half of it too. */
let rkvdnsFullQps = 0;
for (const workers of [1, 2]) {
  // A fixed port, so that under --workers each worker binds it for the batched path (SO_REUSEPORT).
  // METRICS for the sojourn histogram read at half load (scraped twice per measurement, nothing in between).
  const metricsPort = await freePort();
  const srv = await startRkvdns(redis.url, ZONE, { WORKERS: workers, MAX_UDP_PAYLOAD: 1232, METRICS: `127.0.0.1:${metricsPort}` }, [], await freePort());
  const pids = tree(srv.proc.pid);
  await dnsperf({ port: srv.port, queries: nullQ, seconds: 2, ...CLIENTS.udp }); // warm-up (JIT)
  for (const mx of MIXES) {
    const transport = mx.tcp ? 'tcp' : 'udp';
    const before = workers === 1 ? await serverStats(srv.port, ZONE) : {};
    const m = await measured(pids, () => dnsperf({ port: srv.port, queries: mx.queries, seconds: SECONDS, tcp: mx.tcp, edns: mx.edns, ...CLIENTS[transport] }));
    let notes = '';
    if (mx.big && workers === 1) {
      const after = await serverStats(srv.port, ZONE);
      const truncated = (after.truncated ?? 0) - (before.truncated ?? 0);
      notes = `${fmt.int(truncated)} answers sent truncated (TC=1), ${fmt.pct((truncated / m.result.completed) * 100)} of completed`;
    }
    if (mx.latency) {
      // Latency at half the measured rate: per-query figures from dnsperf -v.
      const half = await halfLoad(pids, srv.port, mx.queries, m.result.qps, metricsPort);
      if (workers === 1) rkvdnsFullQps = m.result.qps;
      m.result.p50Ms = half.p50Ms;
      m.result.p99Ms = half.p99Ms;
      notes = half.notes;
    }
    row(mx.mix, transport, workers, m.result, m, nullQps, notes);
  }
  await srv.proc.stop();
}

// Baseline 2, the ceiling: NSD and Knot DNS serving the same names from a static zone; their latency at
// rkvdns's half-load rate (the same offered load, so the tails compare).
const STATIC = [MIXES[2], MIXES[0], MIXES[1]];
const records = numberedRecords(UNCACHED);
for (const start of [startNsd, startKnot]) {
  const c = await start(ZONE, records);
  await dnsperf({ port: c.port, queries: nullQ, seconds: 2, ...CLIENTS.udp }); // warm-up
  // After the warm-up: NSD forks its serving process once it has started.
  const pids = tree(c.proc.pid);
  for (const mx of STATIC) {
    const m = await measured(pids, () => dnsperf({ port: c.port, queries: mx.queries, seconds: SECONDS, ...CLIENTS.udp }));
    if (start === startNsd) nsdQps.set(mx.mix, m.result.qps);
    let notes = '';
    if (mx.latency) {
      const half = await halfLoad(pids, c.port, mx.queries, rkvdnsFullQps);
      Object.assign(m.result, { p50Ms: half.p50Ms, p99Ms: half.p99Ms });
      notes = `${half.notes} (rkvdns's half load)`;
    }
    row(`${c.name}: ${mx.mix}`, 'udp', 1, m.result, m, nullQps, notes);
  }
  await c.proc.stop();
}

await ioPaths();
await answerCache();
await metricsCost();

// Baseline 3: Redis itself.
const rb = spawnSync('redis-benchmark', ['-p', String(redis.port), '-t', 'get', '-c', '50', '-n', '300000', '-q'], { encoding: 'utf8' }).stdout;
const redisGets = Number(/GET: ([\d.]+) requests per second/.exec(rb)?.[1] ?? NaN);
await redis.stop();

// Every UDP row of a mix NSD served, as a share of NSD.
for (const r of rows) {
  const nsd = nsdQps.get(r.mix.replace(/^[^:]*: /, ''));
  if (nsd && r.transport === 'udp') r['of NSD'] = fmt.pct((r.qps / nsd) * 100);
}
table(
  `rkvdns (UDP_IO ${batchedBuilt ? 'auto: batched' : 'auto: dgram, the addon not built'}), ${SECONDS} s per mix (dnsperf ${CLIENTS.udp.clients} clients × ${CLIENTS.udp.outstanding} outstanding on UDP, ${CLIENTS.tcp.clients} × ${CLIENTS.tcp.outstanding} on TCP)`,
  rows.map(({ qps: _qps, ...shown }) => shown),
);
console.log(`redis-benchmark -t get -c 50: ${fmt.int(redisGets)} GET/s`);
console.log(stallsText(stalls));
const find = (mix, workers) => rows.find((r) => r.mix === mix && r.workers === workers);
const distinct = (w) => find(MIXES[0].mix, w);
console.log(
  `GET 1,000 distinct names: ${distinct(1)['q/s']} q/s with 1 worker (${distinct(1)['of NSD']} of NSD), ${distinct(2)['q/s']} with 2 (${distinct(2)['of NSD']})`,
);
process.exit(0);
