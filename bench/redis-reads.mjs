#!/usr/bin/env node
/**
 * rkvdns's single-key read, GET + TTL of one key, through ioredis (autopipelined, as rkvdns used it) and through
 * the pipelined read connection (src/redis/pipe.ts), as two sends and as one sendWithTtl, in-process against a private Redis: CPU of this process per
 * pair and pairs per second, 200 readers at once, rounds alternated.
 *   npm run bench:redis-reads        (BENCH_ROUNDS=3, 200,000 pairs per round)
 */
import { Redis } from 'ioredis';
import { createLogger } from '../dist/common/log.js';
import { ReadPipe } from '../dist/redis/pipe.js';
import { commandHead } from '../dist/redis/resp.js';
import { fmt, median, need, seedNumbered, startRedis, table } from './lib.mjs';

need({ 'redis-server': 'redis-server' });
const PAIRS = 200_000;
const READERS = 200;
const redis = await startRedis();
await seedNumbered(redis.client, PAIRS);
const keys = Array.from({ length: PAIRS }, (_, i) => Buffer.from(`k${i}`));

const io = new Redis(redis.url, { enableAutoPipelining: true, enableOfflineQueue: false, enableReadyCheck: false, lazyConnect: true });
await io.connect();
const pipe = new ReadPipe({ host: '127.0.0.1', port: redis.port, tls: false, db: 0 }, { timeoutMs: 1000, log: createLogger('warn', 'bench'), where: 'bench' });
await pipe.connect();
const GET = commandHead('GET', 2);
const TTL = commandHead('TTL', 2);
const paths = {
  ioredis: (k) => Promise.all([io.getBuffer(k), io.ttl(k)]),
  'pipelined connection': (k) => Promise.all([pipe.send(GET, k), pipe.send(TTL, k)]),
  'pipelined connection, one promise per pair (sendWithTtl)': (k) => pipe.sendWithTtl(GET, k),
};

async function run(read) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  const reader = async () => {
    while (next < PAIRS) await read(keys[next++]);
  };
  await Promise.all(Array.from({ length: READERS }, reader));
  const cpu = process.cpuUsage(c0);
  return { cpuUs: (cpu.user + cpu.system) / PAIRS, pairsPerS: PAIRS / ((performance.now() - t0) / 1000) };
}

await run(paths.ioredis); // warm-up (JIT)
await run(paths['pipelined connection']);
await run(paths['pipelined connection, one promise per pair (sendWithTtl)']);
const results = Object.fromEntries(Object.keys(paths).map((k) => [k, []]));
for (let round = 0; round < Number(process.env.BENCH_ROUNDS ?? 3); round++)
  for (const [name, read] of Object.entries(paths)) results[name].push(await run(read));
table(
  `GET + TTL of one key, ${fmt.int(PAIRS)} pairs per round, ${READERS} at once, rounds alternated`,
  Object.entries(results).map(([name, rs]) => ({
    path: name,
    'CPU µs per pair (median)': median(rs.map((r) => r.cpuUs)).toFixed(1),
    'pairs/s (median)': fmt.int(median(rs.map((r) => r.pairsPerS))),
    'CPU µs per round': rs.map((r) => r.cpuUs.toFixed(1)).join(', '),
  })),
);
io.disconnect();
pipe.disconnect();
await redis.stop();
