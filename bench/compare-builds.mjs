#!/usr/bin/env node
/**
 * rkvdns of this checkout against rkvdns of another build (a second checkout, built), under the same dnsperf
 * mixes in one run, rounds alternated so that the machine's drift falls on both: the way to tell whether a
 * change made the server slower on a noisy machine.
 *   npm run build && node bench/compare-builds.mjs /path/to/other/checkout [rounds]
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
// 300,000 keys: enough that a 5-second round names each at most once, so every query of that mix reads Redis.
const UNCACHED = 300_000;
const redis = await startRedis();
await seedNumbered(redis.client, UNCACHED);

const start = (checkout) => startRkvdns(redis.url, ZONE, { bin: `${checkout}/dist/cli/rkvdns.js`, settings: { STATS: 0 }, args: ['--log-level', 'info'] });
const builds = { this: await start(root), other: await start(other) };
const mixes = {
  'GET, 1,000 distinct names': numberedQueries(1000, ZONE),
  'GET, one name': [`k7.get.${ZONE} TXT`],
  'GET, 300,000 distinct (all from Redis)': numberedQueries(UNCACHED, ZONE),
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
process.exit(0);
