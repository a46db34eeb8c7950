#!/usr/bin/env node
/**
 * rkvdns of this checkout against rkvdns of another build (a second checkout, built), under the same dnsperf
 * mixes in one run, rounds alternated so that the machine's drift falls on both: the way to tell whether a
 * change made the server slower on a noisy machine.
 *   npm run build && node bench/compare-builds.mjs /path/to/other/checkout [rounds]
 */
import { startRkvdns } from '../dist/harness/programs.js';
import { dnsperf, need, root, startRedis } from './lib.mjs';

const other = process.argv[2];
const ROUNDS = Number(process.argv[3] ?? 8);
if (!other) {
  console.error('usage: node bench/compare-builds.mjs /path/to/other/checkout [rounds]  (build both first)');
  process.exit(2);
}
need({ dnsperf: 'dnsperf', 'redis-server': 'redis-server' });
const ZONE = 'bench.test';
const redis = await startRedis();
const kv = [];
for (let i = 0; i < 1000; i++) kv.push(`k${i}`, String(i));
await redis.client.mset(kv);

const start = async (checkout) =>
  (await startRkvdns(redis.url, ZONE, { bin: `${checkout}/dist/cli/rkvdns.js`, settings: { STATS: 0 }, args: ['--log-level', 'info'] })).port;
const builds = { this: await start(root), other: await start(other) };
const mixes = { 'GET, 1,000 distinct names': Array.from({ length: 1000 }, (_, i) => `k${i}.get.${ZONE} TXT`), 'GET, one name': [`k7.get.${ZONE} TXT`] };
const load = { seconds: 5, clients: 8, outstanding: 200 };
for (const port of Object.values(builds)) await dnsperf({ port, queries: mixes['GET, 1,000 distinct names'], ...load, seconds: 2 }); // warm-up (JIT)
const qps = {};
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? ['other', 'this'] : ['this', 'other'];
  for (const [mix, queries] of Object.entries(mixes)) {
    for (const build of order) (qps[`${mix} | ${build}`] ??= []).push((await dnsperf({ port: builds[build], queries, ...load })).qps);
  }
}
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
for (const mix of Object.keys(mixes)) {
  const a = qps[`${mix} | this`];
  const b = qps[`${mix} | other`];
  const wins = a.filter((x, i) => x > b[i]).length;
  console.log(
    `${mix}: this ${Math.round(median(a))} q/s, other ${Math.round(median(b))} q/s (medians of ${ROUNDS}); this ahead in ${wins} of ${ROUNDS} rounds`,
  );
}
process.exit(0);
