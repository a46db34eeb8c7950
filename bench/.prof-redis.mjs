// scratch: profile the all-Redis mix
import { dnsperf, measured, startRedis, startRkvdns, freePort } from './lib.mjs';
const ZONE = 'bench.test';
const N = 300_000;
const redis = await startRedis();
for (let i = 0; i < N; i += 5000) { const kv = []; for (let j = i; j < i + 5000; j++) kv.push(`k${j}`, String(j)); await redis.client.mset(kv); }
const queries = Array.from({ length: N }, (_, i) => `k${i}.get.${ZONE} TXT`);
const nodeArgs = process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : [];
const srv = await startRkvdns(redis.url, ZONE, { MAX_UDP_PAYLOAD: 1232, ...(process.env.IO ? { UDP_IO: process.env.IO } : {}) }, nodeArgs, await freePort());
await dnsperf({ port: srv.port, queries: queries.slice(0, 1000), seconds: 2, clients: 8, outstanding: 200 });
for (let r = 0; r < Number(process.env.ROUNDS ?? 1); r++) {
  const m = await measured([srv.proc.pid], () => dnsperf({ port: srv.port, queries, seconds: Number(process.env.SECS ?? 8), clients: 8, outstanding: 200 }));
  console.log(`all-Redis: ${Math.round(m.result.qps)} q/s, ${((m.cpuPct / 100) * 1e6 / m.result.qps).toFixed(1)} µs CPU/q, lost ${(m.result.lost / m.result.sent * 100).toFixed(2)}%`);
}
await srv.proc.stop();
await redis.stop();
