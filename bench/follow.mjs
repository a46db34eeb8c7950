#!/usr/bin/env node
/**
 * `totalizer-agent follow` over a 200,000-line combined log already on disk (--from-start), three ways:
 * to a receiver that only counts lines (what follow itself takes: lines/s, CPU per 100,000 lines); to the
 * agent with no rate limit (end to end, every line counted once in Redis?); and to the agent at follow's
 * default 20,000 lines/s (the CPU it takes beside a web server).
 *   npm run bench:follow            (BENCH_LINES=200000 by default)
 */
import dgram from 'node:dgram';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOKEN_PREFIX } from '../dist/agent/writer.js';
import { startAgent } from '../dist/harness/programs.js';
import { fmt, freePort, need, root, scratch, startProcess, startRedis, table, usageOf } from './lib.mjs';

need({ 'redis-server': 'redis-server' });
const LINES = Number(process.env.BENCH_LINES ?? 200_000);
const logFile = join(scratch, 'follow.log');
writeFileSync(logFile, spawnSync('node', [join(root, 'bench/gen-access-log.mjs'), String(LINES)], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout);
const bytes = readFileSync(logFile).length;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A UDP port that counts the newlines it receives. */
async function lineCounter() {
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  let lines = 0;
  sock.on('message', (m) => {
    for (let i = m.indexOf(10); i >= 0; i = m.indexOf(10, i + 1)) lines++;
  });
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));
  return { port: sock.address().port, lines: () => lines, close: () => sock.close() };
}

async function counted(redis) {
  let total = 0;
  for (const k of await redis.keys('*')) if (!k.startsWith(TOKEN_PREFIX)) total += Number(await redis.get(k));
  return total;
}

/** Runs follow over the log to `port` until `done()`; its wall time and CPU from its start-up line on. */
async function followRun(port, extra, done) {
  const f = await startProcess(
    'node',
    [
      join(root, 'dist/cli/agent.js'),
      'follow',
      logFile,
      '--to',
      `127.0.0.1:${port}`,
      '--state',
      join(scratch, `state-${port}.json`),
      '--from-start',
      '--poll',
      '0.05s',
      ...extra,
    ],
    /following /,
  );
  // Node's start and the module loading are not follow's work per line.
  const t0 = performance.now();
  const cpu0 = usageOf([f.pid]).cpuS;
  // Until done, or until progress stops for 3 s (lines lost on the way); the time is that of the last progress.
  let last = -1;
  let movedAt = performance.now();
  for (;;) {
    const p = await done();
    if (p === true) break;
    if (p !== last) [last, movedAt] = [p, performance.now()];
    else if (performance.now() - movedAt > 3000) break;
    await sleep(20);
  }
  const seconds = ((last === -1 ? performance.now() : Math.max(movedAt, performance.now() - 3000)) - t0) / 1000;
  const cpuS = usageOf([f.pid]).cpuS - cpu0;
  await f.stop();
  return { seconds, cpuS };
}

const rows = [];
const row = (to, limit, r, agentCpuS, exact) =>
  rows.push({
    to,
    'rate limit': limit,
    lines: fmt.int(LINES),
    seconds: r.seconds.toFixed(2),
    'lines/s': fmt.int(LINES / r.seconds),
    'follow CPU ms per 100k lines': fmt.int((r.cpuS * 1000 * 100_000) / LINES),
    'agent CPU ms per 100k lines': agentCpuS === null ? '–' : fmt.int((agentCpuS * 1000 * 100_000) / LINES),
    'every line once': exact,
  });

const sink = await lineCounter();
const alone = await followRun(sink.port, ['--max-lines-per-second', '0'], async () => sink.lines() >= LINES || sink.lines());
row('line counter', 'none', alone, null, sink.lines() === LINES ? 'yes' : `no (${sink.lines()})`);
sink.close();

const redis = await startRedis();
for (const limit of ['0', '100000', '50000', '20000']) {
  await redis.client.flushall();
  const port = await freePort();
  const cfgPath = join(scratch, `agent-${port}.yaml`);
  writeFileSync(
    cfgPath,
    readFileSync(join(root, 'config/agent.yaml'), 'utf8')
      .replace('redis://127.0.0.1:6379', redis.url)
      .replace('port: 3430', `port: ${port}`)
      .replace('port: 3431', `port: ${await freePort()}`)
      .replace('stats: 60', 'stats: 0'),
  );
  const { proc: agent } = await startAgent(cfgPath, [], 2);
  const cpu0 = usageOf([agent.pid]).cpuS;
  // Two rules match every generated line: 2 counts per line.
  const r = await followRun(port, ['--max-lines-per-second', limit], async () => {
    const n = await counted(redis.client);
    return n >= 2 * LINES || n;
  });
  const agentCpuS = usageOf([agent.pid]).cpuS - cpu0;
  await agent.stop();
  const total = await counted(redis.client);
  row('totalizer-agent', limit === '0' ? 'none' : `${fmt.int(Number(limit))}/s`, r, agentCpuS, total === 2 * LINES ? 'yes' : `no (${total / 2})`);
}
await redis.stop();
table(`totalizer-agent follow, ${fmt.int(LINES)}-line combined log (${fmt.int(bytes / 1e6)} MB), read from its start`, rows);
process.exit(0);
