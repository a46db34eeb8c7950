#!/usr/bin/env node
/**
 * Where rkvdns's latency tail below saturation comes from. One rkvdns (batched UDP, 1,000 names answered from
 * flights), its saturation rate measured first, then dnsperf paced at shares of that rate. For each pace:
 * dnsperf's own p50/p99; the server's sojourn histogram (kernel receipt of the query to the answer's send, from
 * /metrics), which no delay of the load generator can reach; and from /proc/<pid>/task/<tid>/schedstat, the share
 * of the wall clock the main thread and the socket's thread (rkvdns-udp) spent on a CPU, the process's CPU per
 * query (every thread), and how long the main thread was runnable but waiting for a CPU.
 * Right after each pace, NSD serving the same names from a static zone at the same pace: what this machine and
 * load generator allow a C server's tail at that moment. Each pace of rkvdns starts with WARM_SECONDS at that pace,
 * not measured: its flights ended while NSD ran, and the tail below saturation is that of a steady load, not of
 * 1,000 names read from Redis at once (bench:rkvdns measures its half load right after its saturation run too).
 * The answers over 2 ms are also counted in bursts (runs of them in the order dnsperf got them): a burst as long as
 * the queries outstanding is a stop of the whole exchange. Before any load, a thread spinning on each CPU measures how
 * often the machine itself stops a running thread (bench/stalls.mjs), and how much of that Linux did not see.
 *   npm run bench:half-load      (BENCH_SECONDS=5 per pace)
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { startNsd } from './c-servers.mjs';
import { machineStalls, stallsText } from './stalls.mjs';
import {
  dnsperf,
  fmt,
  freePort,
  need,
  numberedQueries,
  numberedRecords,
  scrapeMetrics,
  seedNumbered,
  sojournBuckets,
  startRedis,
  startRkvdns,
  table,
  tree,
} from './lib.mjs';

need({ dnsperf: 'dnsperf', 'redis-server': 'redis-server', nsd: 'nsd' });
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ZONE = 'bench.test';
const PACES = [0.25, 0.375, 0.5];
const WARM_SECONDS = 1;
const CLIENTS = { clients: 8, outstanding: 200 };
// BENCH_PIN=1: rkvdns (every thread) on CPU 1, dnsperf and Redis on CPU 0, so the server never waits for a CPU
// the load generator holds.
const PIN = process.env.BENCH_PIN === '1';

const redis = await startRedis();
await seedNumbered(redis.client, 1000);
const queries = numberedQueries(1000, ZONE);
const metricsPort = await freePort();
const srv = await startRkvdns(redis.url, ZONE, { MAX_UDP_PAYLOAD: 1232, METRICS: `127.0.0.1:${metricsPort}` }, [], await freePort());
const nsd = await startNsd(ZONE, numberedRecords(1000));

if (PIN) {
  for (const pid of [srv.proc.pid, ...tree(nsd.proc.pid)]) spawnSync('taskset', ['-a', '-p', '-c', '1', String(pid)]);
  spawnSync('taskset', ['-a', '-p', '-c', '0', String(redis.proc.pid)]);
}
const load = PIN ? { ...CLIENTS, cpus: '0' } : CLIENTS;

/** Cumulative sojourn buckets, [upper bound in seconds, count], and the UDP queries and those the answer cache sent. */
async function sojourn() {
  const text = await scrapeMetrics(metricsPort);
  const counter = (name) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return {
    buckets: sojournBuckets(text),
    queries: counter('rkvdns_queries_total\\{transport="udp"\\}'),
    cached: counter('rkvdns_udp_cache_answers_total'),
  };
}

/** Time on a CPU, ns: the main thread's (and its time waiting for one), the socket thread's, every thread's. */
function schedstat() {
  const r = { onCpu: 0, waiting: 0, udp: 0, all: 0 };
  for (const tid of readdirSync(`/proc/${srv.proc.pid}/task`)) {
    const dir = `/proc/${srv.proc.pid}/task/${tid}`;
    const [onCpu, waiting] = readFileSync(`${dir}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    r.all += onCpu;
    if (tid === String(srv.proc.pid)) Object.assign(r, { onCpu, waiting });
    else if (readFileSync(`${dir}/comm`, 'utf8').trim() === 'rkvdns-udp') r.udp = onCpu;
  }
  return r;
}

// Before any load: how often the machine itself stops a running thread, the floor under every tail below.
const stalls = await machineStalls();
await dnsperf({ port: srv.port, queries, seconds: 2, ...load }); // warm-up (JIT)
await dnsperf({ port: nsd.port, queries, seconds: 2, ...load });
const full = await dnsperf({ port: srv.port, queries, seconds: SECONDS, ...load });
const rows = [];
for (const pace of PACES) {
  const qps = Math.round(full.qps * pace);
  await dnsperf({ port: srv.port, queries, seconds: WARM_SECONDS, qps, ...load });
  const [h0, s0, t0] = [await sojourn(), schedstat(), performance.now()];
  const r = await dnsperf({ port: srv.port, queries, seconds: SECONDS, qps, latencies: true, ...load });
  const [h1, s1, wallNs] = [await sojourn(), schedstat(), (performance.now() - t0) * 1e6];
  const c = await dnsperf({ port: nsd.port, queries, seconds: SECONDS, qps, latencies: true, ...load });
  const answers = h1.buckets.map(([le, n], i) => [le, n - h0.buckets[i][1]]);
  const total = answers[answers.length - 1][1];
  const within = (le) => fmt.pct((answers.find(([b]) => b === le)[1] / total) * 100);
  const p99 = answers.find(([, n]) => n >= 0.99 * total)[0];
  rows.push({
    pace: `${fmt.pct(pace * 100)} of ${fmt.int(full.qps)} q/s`,
    'q/s': fmt.int(r.qps),
    'dnsperf p50 ms': fmt.ms(r.p50Ms),
    'dnsperf p99 ms': fmt.ms(r.p99Ms),
    'NSD p99 ms, same pace': fmt.ms(c.p99Ms),
    'dnsperf: answers over 2 ms': fmt.late(r.late),
    'NSD: answers over 2 ms': fmt.late(c.late),
    'in server ≤ 0.5 ms': within(0.0005),
    '≤ 2 ms': within(0.002),
    'p99 in server': p99 === Infinity ? '> 1 s' : `≤ ${p99 * 1000} ms`,
    'sent by the answer cache': fmt.pct(((h1.cached - h0.cached) / (h1.queries - h0.queries)) * 100),
    'main thread on CPU': fmt.pct(((s1.onCpu - s0.onCpu) / wallNs) * 100),
    'socket thread on CPU': fmt.pct(((s1.udp - s0.udp) / wallNs) * 100),
    'CPU µs/q, all threads': fmt.int((s1.all - s0.all) / 1000 / r.completed),
    'main thread waiting for a CPU ms': fmt.int((s1.waiting - s0.waiting) / 1e6),
  });
}
table(
  `rkvdns below saturation: GET, 1,000 distinct names, batched UDP, ${SECONDS} s per pace (dnsperf ${CLIENTS.clients} × ${CLIENTS.outstanding})${PIN ? ', rkvdns on CPU 1, dnsperf and Redis on CPU 0' : ''}`,
  rows,
);
console.log(`${stallsText(stalls)}\n`);
await srv.proc.stop();
await nsd.proc.stop();
await redis.stop();
process.exit(0);
