#!/usr/bin/env node
/**
 * Big totalizers against reading Redis directly. In one run, for 100,000 and 1,000,000 bucket keys (a quarter as
 * many groups: each client address and status seen on two servers in two buckets), and for 960,000 in the shape of a
 * busy site (10,000 groups, each on three servers in 32 buckets: resources of many buckets), each case in a Redis of
 * its own:
 *   - the direct read a script would do: SCAN COUNT 1000 + MGET, summing per group, with redis-py (when Python has
 *     it; as root it is installed) and with ioredis in Node;
 *   - totalize --sharded cold, straight to rkvdns (a fresh rkvdns: no snapshot);
 *   - the same through unbound, cold (fresh unbound and rkvdns), then warm (again, within the TTL);
 * each total checked against what was written, totalize's peak memory (a process of its own) and rkvdns's, and the
 * ratios to the direct reads. Also Redis memory per bucket key, and the time of one whole-pattern count (a SCAN).
 * Each case is measured in BENCH_ROUNDS rounds (3), each a direct read and the three totals one after the other; a
 * time is the median of the rounds, with their range, and a ratio the median of the rounds' own ratios.
 *   npm run bench:scaling          (BENCH_CASES=100000 for the smallest alone; a case is N keys, or N/SxB for N keys
 *                                   on S servers in B buckets each; BENCH_ROUNDS=1 for one round)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fmt, median, need, serverStats, startRedis, startRkvdns, startUnbound, table, usage } from './lib.mjs';

need({ 'redis-server': 'redis-server', unbound: 'unbound', dig: 'bind9-dnsutils' });
const ZONE = 'bench.test';
const NOW = Math.floor(Date.now() / 1000);
/** `N` (a quarter as many groups: 2 servers x 2 buckets) or `N/SxB`. */
const CASES = (process.env.BENCH_CASES ?? '100000,1000000,960000/3x32').split(',').map((c) => {
  const m = /^(\d+)(?:\/(\d+)x(\d+))?$/.exec(c);
  if (!m) throw new Error(`BENCH_CASES: '${c}' is not N or N/SxB`);
  const [n, sources, buckets] = [Number(m[1]), Number(m[2] ?? 2), Number(m[3] ?? 2)];
  const label = m[2] === undefined ? fmt.int(n) : `${fmt.int(n)} (${fmt.int(n / sources / buckets)} × ${sources} × ${buckets})`;
  return { n, sources, buckets, label };
});
/** Rounds per case: this machine's speed swings within minutes, so one round's ratios can be a quarter off. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`BENCH_ROUNDS: '${process.env.BENCH_ROUNDS}' is not a whole number of rounds`);
// Long enough that the warm run through unbound comes within the TTL of every page the cold run fetched.
const DEFAULT_TTL = 300;
const CLIENT = fileURLToPath(new URL('scaling-client.mjs', import.meta.url));

/** redis-py, when Python has it: as root, installed (python3-redis); otherwise its column says how. */
function havePython() {
  const ok = () => spawnSync('/usr/bin/python3', ['-c', 'import redis'], { stdio: 'ignore' }).status === 0;
  if (ok()) return true;
  if (process.getuid?.() === 0) {
    console.error('bench: installing python3-redis');
    spawnSync('sh', ['-c', 'apt-get install -y -qq python3-redis >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq python3-redis >/dev/null)'], {
      stdio: 'inherit',
    });
  }
  return ok();
}
const python = havePython();

const usedMemory = async (redis) => Number(/used_memory:(\d+)/.exec(await redis.client.info('memory'))[1]);

/**
 * n keys `<prefix>;10.<a>.<b>.<c>,<status>;web<s>;<ts>`: n / (sources × buckets) groups (address and status), each on
 * every server in every bucket, 60 s apart; value 1 + i % 7. Returns the expected total.
 */
async function seed(redis, prefix, { n, sources, buckets }) {
  const groups = n / sources / buckets;
  const lua = `local groups = tonumber(ARGV[5])
  local sources = tonumber(ARGV[6])
  for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do
    local r = i % groups
    local a = math.floor(r / 4)
    redis.call('SET', ARGV[1] .. ';10.' .. math.floor(a / 65536) .. '.' .. (math.floor(a / 256) % 256) .. '.' .. (a % 256) .. ',' .. (200 + r % 4) ..
      ';web' .. (math.floor(i / groups) % sources) .. ';' .. (tonumber(ARGV[4]) - 60 * math.floor(i / (sources * groups))), 1 + i % 7, 'EX', 86400)
  end return 1`;
  for (let from = 0; from < n; from += 100_000) await redis.client.eval(lua, 0, prefix, from, Math.min(n, from + 100_000) - 1, NOW, groups, sources);
  // Described as the agent describes what it writes, so that totalize reads it as it would a real totalizer's.
  await redis.client.set(
    `totalizers;${prefix}`,
    `v=1 measure=count scale=0 bucket=60 ttl=86400 columns=ip,status keypattern=<prefix>;<matched>;<source>;<start_ts>`,
  );
  let expected = 0;
  for (let i = 0; i < n; i++) expected += 1 + (i % 7);
  return expected;
}

/** The direct read with redis-py: seconds, groups and total. */
function directPython(redis, prefix) {
  const script = `
import redis, sys, time
r = redis.Redis(port=int(sys.argv[1]))
t = time.time(); groups = {}; cur = 0
while True:
    cur, keys = r.scan(cur, match=sys.argv[2].encode() + b';*', count=1000)
    if keys:
        for k, v in zip(keys, r.mget(keys)):
            if v is not None:
                g = k.split(b';')[1]
                groups[g] = groups.get(g, 0) + int(v)
    if cur == 0:
        break
print(time.time() - t, len(groups), sum(groups.values()))`;
  const out = spawnSync('/usr/bin/python3', ['-c', script, String(redis.port), prefix], { encoding: 'utf8' });
  const [s, groups, sum] = out.stdout.trim().split(' ').map(Number);
  return { ms: s * 1000, groups, sum };
}

/** The same read with ioredis, in this process. */
async function directNode(redis, prefix) {
  const t0 = performance.now();
  const groups = new Map();
  let cursor = '0';
  do {
    const [next, keys] = await redis.client.scan(cursor, 'MATCH', `${prefix};*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    const values = await redis.client.mget(keys);
    keys.forEach((k, i) => {
      if (values[i] === null) return;
      const g = k.split(';')[1];
      groups.set(g, (groups.get(g) ?? 0) + Number(values[i]));
    });
  } while (cursor !== '0');
  let sum = 0;
  for (const v of groups.values()) sum += v;
  return { ms: performance.now() - t0, groups: groups.size, sum };
}

/** totalize in a process of its own (its memory is its own), while rkvdns's memory is sampled. */
function totalize(prefix, port, rkvdnsPid) {
  let peak = usage(rkvdnsPid).rssMb;
  const sampler = setInterval(() => (peak = Math.max(peak, usage(rkvdnsPid).rssMb)), 100);
  return new Promise((resolve) => {
    import('node:child_process').then(({ execFile }) =>
      execFile('node', [CLIENT, prefix, `127.0.0.1:${port}`, ZONE, String(NOW)], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        clearInterval(sampler);
        resolve(err ? { error: (stderr || err.message).trim().slice(0, 160), rkvdnsMb: peak } : { ...JSON.parse(stdout), rkvdnsMb: peak });
      }),
    );
  });
}

const memory = [];
const rows = [];
const ratios = [];

/** Seeds a case in a Redis of its own, measures Redis memory per key. */
async function seeded(c) {
  const redis = await startRedis();
  const before = await usedMemory(redis);
  const want = await seed(redis, `t${c.n}`, c);
  const bytes = (await usedMemory(redis)) - before;
  memory.push({ 'bucket keys': c.label, 'Redis used_memory': `${fmt.int(bytes / 2 ** 20)} MB`, 'bytes per key': fmt.int(bytes / c.n) });
  return { ...c, redis, want };
}

/** One round of a case: the direct reads, then the three totals. */
async function round(prefix, redis) {
  const py = python ? directPython(redis, prefix) : null;
  const node = await directNode(redis, prefix);
  const runs = [];
  // Cold, straight to a fresh rkvdns (with the shipped MAX_KEYS).
  {
    const server = await startRkvdns(redis.url, ZONE, { DEFAULT_TTL });
    runs.push({ via: 'rkvdns, cold', ...(await totalize(prefix, server.port, server.proc.pid)) });
    await server.proc.stop();
  }
  // Through unbound: both fresh (cold), then the same again (warm: unbound answers every page from its cache).
  {
    const server = await startRkvdns(redis.url, ZONE, { DEFAULT_TTL });
    const unbound = await startUnbound(ZONE, server.port);
    runs.push({ via: 'unbound, cold', ...(await totalize(prefix, unbound.port, server.proc.pid)) });
    runs.push({ via: 'unbound, warm', ...(await totalize(prefix, unbound.port, server.proc.pid)) });
    await unbound.stop();
    await server.proc.stop();
  }
  return { py, node, runs };
}

/** The median of some numbers, with their range when there are several: "1.14 (1.05–1.24)". */
const spread = (xs, digits = 2) =>
  xs.length === 1 ? xs[0].toFixed(digits) : `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

/**
 * The rounds of one case, into rows and ratios: each time the median of the rounds (and their range), each ratio the
 * median of the rounds' own ratios (a total against the direct read of its round, seconds apart).
 */
async function measure({ n, label, redis, want }) {
  const prefix = `t${n}`;
  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await round(prefix, redis));
  const exact = (sums) => {
    const wrong = sums.find((sum) => sum !== want);
    return wrong === undefined ? 'exact' : `WRONG (${wrong} of ${want})`;
  };
  const direct = (via, rs) => ({
    'bucket keys': label,
    via,
    'wall s': spread(rs.map((r) => r.ms / 1000)),
    'DNS queries': '–',
    'totalize peak': '–',
    'rkvdns peak': '–',
    total: exact(rs.map((r) => r.sum)),
  });
  const [pys, nodes] = [rounds.map((r) => r.py), rounds.map((r) => r.node)];
  if (python) rows.push(direct('redis-py, SCAN + MGET', pys));
  rows.push(direct('ioredis, SCAN + MGET', nodes));
  rounds[0].runs.forEach((first, k) => {
    const rs = rounds.map((r) => r.runs[k]);
    const failed = rs.find((r) => r.error);
    rows.push({
      'bucket keys': label,
      via: `totalize --sharded, ${first.via}`,
      'wall s': failed ? '–' : spread(rs.map((r) => r.ms / 1000)),
      'DNS queries': failed ? '–' : fmt.int(median(rs.map((r) => r.queries))),
      'totalize peak': failed ? '–' : `${fmt.int(Math.max(...rs.map((r) => r.peakMb)))} MB`,
      'rkvdns peak': `${fmt.int(Math.max(...rs.map((r) => r.rkvdnsMb)))} MB`,
      total: failed ? `FAIL: ${failed.error}` : exact(rs.map((r) => r.sum)),
    });
  });
  const ratio = (k, base) => (rounds.some((r) => r.runs[k].error || !r[base]) ? '–' : spread(rounds.map((r) => r.runs[k].ms / r[base].ms)));
  ratios.push({
    'bucket keys': label,
    'cold via rkvdns / redis-py': ratio(0, 'py'),
    'cold via unbound / redis-py': ratio(1, 'py'),
    'warm via unbound / redis-py': ratio(2, 'py'),
    'cold via rkvdns / ioredis': ratio(0, 'node'),
    'warm via unbound / ioredis': ratio(2, 'node'),
  });
}

// Each case in a Redis of its own: SCAN walks the whole keyspace, so another totalizer's keys beside it would slow the
// direct read and rkvdns's scan alike, and hide how each compares on its own keys. The largest case also times a
// whole-pattern count (one SCAN) on a fresh rkvdns.
const largest = CASES.reduce((a, c) => (c.n > a.n ? c : a), CASES[0]);
let scan = null;
for (const c of CASES) {
  const alone = await seeded(c);
  // The bucket keys and the description.
  if ((await alone.redis.client.dbsize()) !== c.n + 1) throw new Error(`seeded ${await alone.redis.client.dbsize()} keys, not ${c.n + 1}`);
  await measure(alone);
  if (c === largest) {
    const server = await startRkvdns(alone.redis.url, ZONE, { DEFAULT_TTL });
    const t0 = performance.now();
    const klen = spawnSync('dig', ['@127.0.0.1', '-p', String(server.port), '+short', '+time=60', '+tries=1', `t${c.n};*.klen.${ZONE}`, 'TXT'], {
      encoding: 'utf8',
    }).stdout.trim();
    scan = { klen, ms: performance.now() - t0, stats: await serverStats(server.port, ZONE) };
    await server.proc.stop();
  }
  await alone.redis.stop();
}

console.log('');
table('Redis memory per bucket key', memory);
table('a total over every bucket key: read directly from Redis, and through DNS', rows);
table('time against the direct read (goal: cold ≤ 1.0 of redis-py; warm through unbound ≤ 0.3)', ratios);
if (!python) console.log('redis-py: not installed here (apt-get install python3-redis); the ioredis read stands in for it');
if (scan) {
  console.log(`whole-pattern klen over ${fmt.int(largest.n)} keys (one SCAN): ${scan.klen} in ${fmt.int(scan.ms)} ms`);
  console.log(`rkvdns counters (that server): error_toolarge ${scan.stats.error_toolarge ?? 0}, partial_tcp ${scan.stats.partial_tcp ?? 0}`);
}
