#!/usr/bin/env node
/**
 * totalize serve's API over a totalizer of 10,000 bucket keys, through unbound: one request cold (nothing cached
 * in the server or in unbound) and again warm (within the TTLs); then fifty viewers at once, each with its own
 * view (its own top), against one viewer, each from a cold server, in DNS queries sent and time to the last answer.
 *   npm run bench:serve
 */
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeFileSync } from 'node:fs';
import { bin } from '../dist/harness/programs.js';
import { fmt, freePort, need, scratch, seedBuckets, startProcess, startRedis, startRkvdns, startUnbound, table } from './lib.mjs';

need({ 'redis-server': 'redis-server', unbound: 'unbound' });
const ZONE = 'serve.bench';
const KEYS = 10_000;
const now = Math.floor(Date.now() / 1000);

const redis = await startRedis();
const expected = await seedBuckets(redis.client, 'bench_hits', KEYS, now);
await redis.client.set('totalizers;bench_hits', 'v=1 measure=count scale=0 bucket=300 ttl=86400 keypattern=<prefix>;<matched>;<source>;<start_ts>');
const rkvdns = await startRkvdns(redis.url, ZONE, { DEFAULT_TTL: 30, MAX_TTL: 300 });
const http = await freePort();
const config = join(scratch, 'totalize.yaml');

/** A fresh unbound and a fresh totalize serve: nothing cached anywhere but in Redis. */
async function cold() {
  const unbound = await startUnbound(ZONE, rkvdns.port);
  writeFileSync(
    config,
    stringify({
      zone: ZONE,
      server: [`127.0.0.1:${unbound.port}`],
      serve: { listen: `127.0.0.1:${http}`, totalizers: [{ prefix: 'bench_hits', window: '1h' }] },
    }),
  );
  const serve = await startProcess(process.execPath, [bin('totalize'), 'serve', '--config', config], /the dashboard on http/);
  return {
    stop: async () => {
      await serve.stop();
      await unbound.stop();
    },
  };
}

const stats = async () => (await (await fetch(`http://127.0.0.1:${http}/api/stats`)).json()).dnsQueries;

/** `viewers` requests at once; the DNS queries they cost, the time to the last answer, and whether each total is exact. */
async function round(viewers) {
  const before = await stats();
  const t0 = performance.now();
  const answers = await Promise.all(
    Array.from({ length: viewers }, (_, i) => fetch(`http://127.0.0.1:${http}/api/totals/bench_hits?top=${1 + (i % 200)}`).then((r) => r.json())),
  );
  const ms = performance.now() - t0;
  const exact = answers.every((a) => Math.round(a.series.total.reduce((x, v) => x + v, 0)) === expected);
  return { queries: (await stats()) - before, ms, exact };
}

const rows = [];
let s = await cold();
// The first request, cold, and the same again within the TTLs.
const first = await round(1);
const warm = await round(1);
rows.push({ what: '1 request, cold', 'DNS queries': fmt.int(first.queries), 'ms to the last answer': fmt.int(first.ms), exact: first.exact ? 'yes' : 'NO' });
rows.push({
  what: '1 request, warm (within the TTLs)',
  'DNS queries': fmt.int(warm.queries),
  'ms to the last answer': fmt.int(warm.ms),
  exact: warm.exact ? 'yes' : 'NO',
});
await s.stop();
s = await cold();
const fifty = await round(50);
rows.push({
  what: '50 viewers at once, each its own top, cold',
  'DNS queries': fmt.int(fifty.queries),
  'ms to the last answer': fmt.int(fifty.ms),
  exact: fifty.exact ? 'yes' : 'NO',
});
await s.stop();
await rkvdns.stop();
await redis.stop();
table(`totalize serve, /api/totals over ${fmt.int(KEYS)} bucket keys (2,500 groups × 4 sources), through unbound`, rows);
process.exit(0);
