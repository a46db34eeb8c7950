#!/usr/bin/env node
/**
 * totalize over totalizers of 1,000 and 10,000 bucket keys (4 sources, 10 buckets each), both modes
 * (keys + one GET per bucket, and one sharded SHGET), through rkvdns directly and through unbound
 * (cold cache, then warm). Reports DNS queries, wall time and whether the total is exact.
 *   npm run bench:totalize
 */
import { total } from '../dist/index.js';
import { fmt, need, seedBuckets, startRedis, startRkvdns, startUnbound, table } from './lib.mjs';

need({ 'redis-server': 'redis-server', unbound: 'unbound' });
const ZONE = 'bench.test';
const NOW = 1_747_600_000;
const SOURCES = 4;
const BUCKETS = 10;

const redis = await startRedis();
const server = await startRkvdns(redis.url, ZONE);
const unbound = await startUnbound(ZONE, server.port);
const unboundPort = unbound.port;

const rows = [];
for (const keys of [1_000, 10_000]) {
  const prefix = `t${keys}`;
  const expected = await seedBuckets(redis.client, prefix, keys, NOW, { sources: SOURCES, buckets: BUCKETS });
  for (const sharded of [false, true]) {
    for (const [via, port, runs] of [
      ['rkvdns', server.port, ['']],
      ['unbound', unboundPort, ['cold', 'warm']],
    ]) {
      for (const run of runs) {
        const t0 = performance.now();
        let result;
        let error = '';
        try {
          result = await total([prefix, null], {
            zone: ZONE,
            window: 3600 * 2,
            nameservers: [`127.0.0.1:${port}`],
            sharded,
            now: NOW,
            timeoutMs: 5000,
            concurrency: 64,
          });
        } catch (e) {
          error = e.message;
        }
        const ms = performance.now() - t0;
        const sum = result ? result.groups.reduce((a, g) => a + g.value, 0) : NaN;
        rows.push({
          'bucket keys': fmt.int(keys),
          mode: sharded ? 'sharded (shget)' : 'keys + get',
          via: run ? `${via} (${run})` : via,
          queries: result ? fmt.int(result.diagnostics.queries) : '–',
          'wall ms': fmt.int(ms),
          total: result ? (Math.abs(sum - expected) < 1e-6 ? 'exact' : `${sum} ≠ ${expected}`) : `failed: ${error.slice(0, 70)}`,
        });
      }
    }
  }
}
await unbound.stop();
await server.proc.stop();
await redis.stop();
table(`totalize, ${SOURCES} sources × ${BUCKETS} buckets per group, window 2 h`, rows);
process.exit(0);
