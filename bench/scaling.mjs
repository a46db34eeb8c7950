#!/usr/bin/env node
/**
 * Where the limits are as a totalizer grows: Redis memory per bucket key, the time rkvdns needs to
 * enumerate a pattern (SCAN), its memory while a big listing is paged, and totalize over 10k, 100k and
 * 1M bucket keys (sharded, paged) through rkvdns directly and through unbound.
 *   npm run bench:scaling
 */
import { total } from '../dist/index.js';
import { fmt, need, serverStats, startRedis, startRkvdns, startUnbound, table, usage } from './lib.mjs';

need({ 'redis-server': 'redis-server', unbound: 'unbound', dig: 'bind9-dnsutils' });
const ZONE = 'bench.test';
const NOW = Math.floor(Date.now() / 1000);
const SIZES = [10_000, 100_000, 1_000_000];

const redis = await startRedis();
const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.client.info('memory'))[1]);

/**
 * n distinct keys `<prefix>;10.0.<a>.<b>,200;web<s>;<ts>`: 400 addresses × 5 sources = 2,000 resources,
 * each with one bucket per 60 s going back in time; value 1 + i % 7.
 */
async function seed(prefix, n) {
  const lua = `for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do
    local r = i % 400
    redis.call('SET', ARGV[1] .. ';10.0.' .. math.floor(r / 200) .. '.' .. (r % 200) .. ',200;web' .. (math.floor(i / 400) % 5) .. ';' .. (tonumber(ARGV[4]) - 60 * math.floor(i / 2000)), 1 + i % 7, 'EX', 86400)
  end return 1`;
  for (let from = 0; from < n; from += 100_000) await redis.client.eval(lua, 0, prefix, from, Math.min(n, from + 100_000) - 1, NOW);
  let expected = 0;
  for (let i = 0; i < n; i++) expected += 1 + (i % 7);
  return expected;
}

const memory = [];
const expected = new Map();
for (const n of SIZES) {
  const before = await usedMemory();
  expected.set(n, await seed(`t${n}`, n));
  const bytes = (await usedMemory()) - before;
  if ((await redis.client.dbsize()) < SIZES.slice(0, SIZES.indexOf(n) + 1).reduce((a, b) => a + b)) throw new Error('seeded keys collide');
  memory.push({ 'bucket keys': fmt.int(n), 'Redis used_memory': `${fmt.int(bytes / 2 ** 20)} MB`, 'bytes per key': fmt.int(bytes / n) });
}

// DEFAULT_TTL 10: key snapshots live 10 s, so a pause of 11 s between runs makes each start cold.
const server = await startRkvdns(redis.url, ZONE, { MAX_KEYS: 2_000_000, DEFAULT_TTL: 10 });
const unbound = await startUnbound(ZONE, server.port);
const unboundPort = unbound.port;

const rows = [];
for (const n of SIZES) {
  for (const [via, port] of [
    ['rkvdns', server.port],
    ['unbound', unboundPort],
  ]) {
    // Each run starts cold at rkvdns: the key snapshot of the previous run has expired.
    if (rows.length > 0) await new Promise((r) => setTimeout(r, 11_000));
    const rssBefore = usage(server.proc.pid).rssMb;
    let peak = rssBefore;
    const sampler = setInterval(() => {
      peak = Math.max(peak, usage(server.proc.pid).rssMb);
    }, 100);
    const t0 = performance.now();
    let r;
    let error = '';
    try {
      r = await total([`t${n}`, null], { zone: ZONE, window: 86400 * 30, nameservers: [`127.0.0.1:${port}`], sharded: true, now: NOW, timeoutMs: 4000 });
    } catch (e) {
      error = e.message;
    }
    const ms = performance.now() - t0;
    clearInterval(sampler);
    const sum = r ? r.groups.reduce((a, g) => a + g.value, 0) : NaN;
    rows.push({
      'bucket keys': fmt.int(n),
      via,
      queries: r ? fmt.int(r.diagnostics.queries) : '–',
      'wall s': (ms / 1000).toFixed(1),
      'keys/s': fmt.int((r ? n : NaN) / (ms / 1000)),
      'rkvdns RSS peak': `${fmt.int(peak)} MB`,
      total: error ? `FAIL: ${error.slice(0, 140)}` : sum === expected.get(n) ? 'exact' : `WRONG (${sum})`,
    });
  }
}

// SCAN cost on its own: a fresh whole-pattern count of the largest totalizer.
const t0 = performance.now();
const klen = await import('node:child_process').then(({ spawnSync }) =>
  spawnSync('dig', ['@127.0.0.1', '-p', String(server.port), '+short', '+time=60', '+tries=1', `t${SIZES.at(-1)};*.klen.${ZONE}`, 'TXT'], {
    encoding: 'utf8',
  }).stdout.trim(),
);
const scanMs = performance.now() - t0;
const stats = await serverStats(server.port, ZONE);

console.log('');
table('Redis memory per bucket key', memory);
table('totalize, sharded, paged (one totalizer per row)', rows);
console.log(`whole-pattern klen over ${fmt.int(SIZES.at(-1))} keys (one SCAN of the keyspace): ${klen} in ${fmt.int(scanMs)} ms`);
console.log(`rkvdns counters: error_toolarge ${stats.error_toolarge ?? 0}, partial_tcp ${stats.partial_tcp ?? 0}, tcp_queries ${stats.tcp_queries ?? 0}`);

await unbound.stop();
await server.proc.stop();
await redis.stop();
