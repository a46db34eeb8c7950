#!/usr/bin/env node
/**
 * What measures cost the agent: the same two rules of config/agent.yaml (per client, per page) as counts, and as
 * a sum (bytes per client) and a maximum (largest response per page), replayed at the same offered rates in one
 * run, alternating, twice each. The figure is lines per agent CPU-second (lines received / CPU seconds used); the
 * sums and maxima in Redis are checked against the log's own when no line was dropped.
 *   npm run bench:measures          (BENCH_LINES=200000 by default)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { TOKEN_PREFIX } from '../dist/agent/writer.js';
import { DESCRIPTION_PREFIX } from '../dist/common/description.js';
import { runAgent } from './agent-run.mjs';
import { fmt, freePort, need, root, scratch, startRedis, table } from './lib.mjs';

need({ 'redis-server': 'redis-server' });
const LINES = Number(process.env.BENCH_LINES ?? 200_000);
const logFile = join(scratch, 'access.log');
const log = spawnSync('node', [join(root, 'bench/gen-access-log.mjs'), String(LINES)], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout;
writeFileSync(logFile, log);

// The shipped rules' expressions, with the response size captured by both.
const CLIENT = '^(\\S+) \\S+ \\S+ \\[[^\\]]*\\] "[^"]*" (\\d{3}) (\\d+)';
const PAGE = '^\\S+ \\S+ \\S+ \\[[^\\]]*\\] "[A-Z]+ ([^ "?]+)[^"]*" \\d{3} (\\d+)';
const page = { cut_at: ';', lowercase: true, truncate: 32 };
const RULE_SETS = {
  'count + count': [
    { name: 'web_client', prefix: 'web_client', matchex: CLIENT, matched: '{1},{2}' },
    { name: 'web_page', prefix: 'web_page', matchex: PAGE, ...page },
  ],
  'sum + max': [
    { name: 'web_client', prefix: 'web_client', matchex: CLIENT, matched: '{1},{2}', measure: 'sum', value: '{3}' },
    { name: 'web_page', prefix: 'web_page', matchex: PAGE, ...page, measure: 'max', value: '{2}' },
  ],
};
const SCENARIOS = [
  { rate: 50_000, per: 1 },
  { rate: 200_000, per: 20 },
];

/** Per matched field, what the log says: bytes summed per client and the largest response per page. */
function fromLog() {
  const sums = new Map();
  const maxima = new Map();
  for (const line of log.split('\n')) {
    const c = new RegExp(CLIENT).exec(line);
    if (c) sums.set(`${c[1]},${c[2]}`, (sums.get(`${c[1]},${c[2]}`) ?? 0) + Number(c[3]));
    const p = new RegExp(PAGE).exec(line);
    if (p) {
      const name = p[1].split(';')[0].toLowerCase().slice(0, 32);
      maxima.set(name, Math.max(maxima.get(name) ?? 0, Number(p[2])));
    }
  }
  return { sums, maxima };
}

/** The same from Redis, buckets folded: sums added, maxima compared. */
async function fromRedis(redis) {
  const sums = new Map();
  const maxima = new Map();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const buckets = keys.filter((k) => !k.startsWith(TOKEN_PREFIX) && !k.startsWith(DESCRIPTION_PREFIX));
    const values = buckets.length ? await redis.mget(buckets) : [];
    buckets.forEach((k, i) => {
      const [prefix, matched] = k.split(';');
      const v = Number(values[i].split(' ')[0]);
      if (prefix === 'web_client') sums.set(matched, (sums.get(matched) ?? 0) + v);
      else maxima.set(matched, Math.max(maxima.get(matched) ?? 0, v));
    });
  } while (cursor !== '0');
  return { sums, maxima };
}

const same = (a, b) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
const expected = fromLog();
const redis = await startRedis();
const rows = [];
const perCpu = new Map();
for (const sc of SCENARIOS)
  for (const round of [1, 2])
    for (const [set, rules] of Object.entries(RULE_SETS)) {
      await redis.client.flushall();
      const port = await freePort();
      const cfgPath = join(scratch, `measures-${port}.yaml`);
      const shipped = readFileSync(join(root, 'config/agent.yaml'), 'utf8');
      writeFileSync(
        cfgPath,
        stringify({
          redis: redis.url,
          stats: 0,
          flush_interval_ms: Number(/^flush_interval_ms: (\d+)/m.exec(shipped)[1]),
          defaults: { port, ttl: 86400, buckets: 96, source: 'bench' },
          rules,
        }),
      );
      const run = await runAgent({ cfgPath, port, bindings: 1, logFile, rate: sc.rate, per: sc.per, workers: 1 });
      const received = run.stat('lines');
      const lost = run.sent - received + run.stat('dropped_pending_full');
      const got = set === 'sum + max' ? await fromRedis(redis.client) : null;
      const linesPerCpuS = received / run.cpuS;
      const key = `${sc.rate}/${sc.per}/${set}`;
      perCpu.set(key, [...(perCpu.get(key) ?? []), linesPerCpuS]);
      rows.push({
        offered: `${fmt.int(sc.rate)} lines/s`,
        'lines/dgram': sc.per,
        rules: set,
        round,
        received: fmt.int(received),
        lost: fmt.int(lost),
        'CPU s': run.cpuS.toFixed(2),
        'lines per CPU-s': fmt.int(linesPerCpuS),
        exact: got === null ? '–' : lost > 0 ? 'lines lost' : same(got.sums, expected.sums) && same(got.maxima, expected.maxima) ? 'yes' : 'NO',
      });
      console.error(`done: ${set} at ${sc.rate} lines/s × ${sc.per}, round ${round}`);
    }
await redis.stop();
table(`totalizer-agent, ${fmt.int(LINES)}-line combined log: two rules as counts, then as a sum and a max`, rows);
const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
table(
  'sum + max against count + count (mean of the rounds)',
  SCENARIOS.map((sc) => {
    const [c, m] = ['count + count', 'sum + max'].map((set) => mean(perCpu.get(`${sc.rate}/${sc.per}/${set}`)));
    return {
      offered: `${fmt.int(sc.rate)} lines/s × ${sc.per}`,
      'count + count': fmt.int(c),
      'sum + max': fmt.int(m),
      'sum + max slower by': `${((1 - m / c) * 100).toFixed(1)} %`,
    };
  }),
);
process.exit(0);
