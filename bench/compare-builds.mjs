#!/usr/bin/env node
/**
 * rkvdns of this checkout against rkvdns of another build (a second checkout, built), under the same dnsperf
 * mixes in one run, rounds alternated so that the machine's drift falls on both: the way to tell whether a
 * change made the server slower on a noisy machine. Then latency below saturation, also alternated: the 1,000
 * cached names at 25% of this build's rate on them, beside a stream of names read from Redis at 10%, each
 * stream's p99 (does a Redis read's work delay the answers that need none?).
 *   npm run bench:compare -- /path/to/other/checkout [rounds]   (build the other checkout first)
 */
import { startRkvdns } from '../dist/harness/programs.js';
import { dnsperf, measured, median, need, numberedQueries, root, seedNumbered, startRedis } from './lib.mjs';

const other = process.argv[2];
const ROUNDS = Number(process.argv[3] ?? 8);
if (!other) {
  console.error('usage: node bench/compare-builds.mjs /path/to/other/checkout [rounds]  (build both first)');
  process.exit(2);
}
need({ dnsperf: 'dnsperf', 'redis-server': 'redis-server' });
const ZONE = 'bench.test';
// 1,000,000 keys: enough that a 5-second round names each at most once (on a machine doing 200,000 q/s), so every
// query of that mix reads Redis.
const UNCACHED = 1_000_000;
const redis = await startRedis();
await seedNumbered(redis.client, UNCACHED);

const start = (checkout) => startRkvdns(redis.url, ZONE, { bin: `${checkout}/dist/cli/rkvdns.js`, settings: { STATS: 0 }, args: ['--log-level', 'info'] });
const builds = { this: await start(root), other: await start(other) };
const mixes = {
  'GET, 1,000 distinct names': numberedQueries(1000, ZONE),
  'GET, one name': [`k7.get.${ZONE} TXT`],
  'GET, 1,000,000 distinct (all from Redis)': numberedQueries(UNCACHED, ZONE),
};
const load = { seconds: 5, clients: 8, outstanding: 200 };
for (const b of Object.values(builds)) await dnsperf({ port: b.port, queries: mixes['GET, 1,000 distinct names'], ...load, seconds: 2 }); // warm-up (JIT)
const runs = {};
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? ['other', 'this'] : ['this', 'other'];
  for (const [mix, queries] of Object.entries(mixes)) {
    for (const build of order) {
      const { port, proc } = builds[build];
      const m = await measured([proc.pid], () => dnsperf({ port, queries, ...load }));
      (runs[`${mix} | ${build}`] ??= []).push({ qps: m.result.qps, cpuUs: ((m.cpuPct / 100) * 1e6) / m.result.qps });
    }
  }
}
// The reads beside: names never asked before (keys that do not exist), so each is a GET and a TTL sent to Redis.
const cachedQps = Math.round(median(runs['GET, 1,000 distinct names | this'].map((x) => x.qps)) * 0.25);
const coldQps = Math.round(cachedQps * 0.4);
const latency = { this: [], other: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const build of round % 2 ? ['other', 'this'] : ['this', 'other']) {
    const { port } = builds[build];
    const cold = Array.from({ length: coldQps * load.seconds }, (_, i) => `absent${round}${build}${i}.get.${ZONE} TXT`);
    const [hot, reads] = await Promise.all([
      dnsperf({ port, queries: mixes['GET, 1,000 distinct names'], ...load, qps: cachedQps, latencies: true }),
      dnsperf({ port, queries: cold, ...load, clients: 4, qps: coldQps, latencies: true }),
    ]);
    latency[build].push({ cached: hot.p99Ms, reads: reads.p99Ms });
  }
}
for (const mix of Object.keys(mixes)) {
  const a = runs[`${mix} | this`];
  const b = runs[`${mix} | other`];
  const wins = a.filter((x, i) => x.qps > b[i].qps).length;
  const q = (r) => Math.round(median(r.map((x) => x.qps)));
  const us = (r) => Math.round(median(r.map((x) => x.cpuUs)));
  console.log(
    `${mix}: this ${q(a)} q/s (${us(a)} µs CPU/q), other ${q(b)} q/s (${us(b)} µs CPU/q) (medians of ${ROUNDS}); this ahead in ${wins} of ${ROUNDS} rounds`,
  );
}
const p99 = (build, stream) => median(latency[build].map((x) => x[stream])).toFixed(2);
const lower = latency.this.filter((x, i) => x.cached < latency.other[i].cached).length;
console.log(
  `GET, 1,000 names at ${cachedQps} q/s beside Redis reads at ${coldQps} q/s, p99: this ${p99('this', 'cached')} ms (reads ${p99('this', 'reads')} ms), ` +
    `other ${p99('other', 'cached')} ms (reads ${p99('other', 'reads')} ms) (medians of ${ROUNDS}); this lower in ${lower} of ${ROUNDS} rounds`,
);
process.exit(0);
