/**
 * Every line counted once on its way from a log file to Redis, through the feeders operators run: `nc -u` and
 * `tail -F | nc -u` (real netcat-openbsd, whose 16 KiB datagrams cut lines anywhere), and `totalizer-agent follow`
 * across appends, a rename rotation with lines still written to the old file, a restart, a copytruncate, and an
 * agent that is not listening yet. Expected totals are counted from the lines written.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, renameSync, truncateSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { track } from '../../src/harness/processes.js';
import { AGENT_BIN, FIXTURE_LOG, startAgent, waitFor, writeConfig, type TestAgent } from '../helpers/agent.js';
import { agentConfig, expectedFromLog, sumOf, totalsBy } from '../helpers/counters.js';
import { freePort } from '../helpers/ports.js';
import { run, startProcess } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const RULE = /^(\S+) \S+ \S+ \[[^\]]*\] "[^"]*" (\d{3}) /;
const SAMPLE = readFileSync(FIXTURE_LOG, 'latin1').split('\n').filter(Boolean);
/** `n` lines of the sample log, made distinct per `tag` so that each batch has totals of its own. */
const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => SAMPLE[i % SAMPLE.length]!.replace(/^10\.0\./, `10.${tag}.`));
const text = (ls: string[]) => ls.join('\n') + '\n';

let redis: TestRedis;
let agent: TestAgent;
let port: number;
const dir = mkdtempSync(join(tmpdir(), 'feeding-'));

beforeAll(async () => {
  redis = await startRedis();
  port = await freePort();
});
afterAll(async () => redis?.stop());
beforeEach(async () => {
  await agent?.stop();
  await redis.client.flushall();
  agent = await startAgent(writeConfig(agentConfig(redis, port, { flush_interval_ms: 50 })));
});

/** Waits (15 s at most) until Redis holds as many counts as `written` makes, then compares them group by group. */
async function expectCounted(written: string[]): Promise<void> {
  const want = expectedFromLog(written, RULE, (m) => `${m[1]},${m[2]}`);
  const total = [...want.values()].reduce((a, b) => a + b, 0);
  await waitFor(async () => (await sumOf(redis, 'web_client;*')) >= total, 15_000);
  expect(await totalsBy(redis, 'web_client')).toEqual(want);
}

describe('nc -u and tail -F | nc -u', () => {
  it('nc -u from a 20,000-line file in one burst counts every line once', async () => {
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    // The burst (2 MB) must fit the agent's socket buffer while it works through it.
    expect(rmemMax, 'net.core.rmem_max is too small for a 2 MB burst: sysctl -w net.core.rmem_max=4194304 (.ci/run does)').toBeGreaterThanOrEqual(4 << 20);
    const written = lines(20_000, '1');
    const file = join(dir, 'burst.log');
    writeFileSync(file, text(written));
    const r = await run('sh', ['-c', `nc -u -q1 127.0.0.1 ${port} < ${file}`]);
    expect(r.code).toBe(0);
    await expectCounted(written);
  });

  it('tail -F | nc -u over appends that cut lines counts every line once', async () => {
    const file = join(dir, 'tailed.log');
    writeFileSync(file, '');
    const pipe = track(spawn('sh', ['-c', `tail -n0 -F ${file} | nc -u 127.0.0.1 ${port}`], { detached: true, stdio: 'ignore' }));
    try {
      await new Promise((r) => setTimeout(r, 500)); // tail's first look at the file
      const written = lines(10_000, '2');
      const bytes = Buffer.from(text(written), 'latin1');
      // Appends of 7,919 bytes: a writer's buffer boundary falls anywhere in a line.
      for (let i = 0; i < bytes.length; i += 7919) appendFileSync(file, bytes.subarray(i, i + 7919));
      await expectCounted(written);
    } finally {
      process.kill(-pipe.pid!, 'SIGTERM');
    }
  });
});

describe('totalizer-agent follow', () => {
  const follower = (file: string, state: string, extra: string[] = []) =>
    startProcess(
      'node',
      [AGENT_BIN, 'follow', file, '--to', `127.0.0.1:${port}`, '--state', state, '--poll', '0.05s', '--rotate-after', '0.5s', ...extra],
      /following |does not exist yet/,
    );

  it('appends, a rename rotation with late lines to the old file, a restart, then more: every line once', async () => {
    const file = join(dir, 'access.log');
    const state = join(dir, 'follow-state.json');
    writeFileSync(file, '');
    let f = await follower(file, state);
    const first = lines(10_000, '3');
    appendFileSync(file, text(first));
    // logrotate's default: rename, a new file; the server writes to the old one until it reopens its log.
    renameSync(file, `${file}.1`);
    const late = lines(500, '4');
    appendFileSync(`${file}.1`, text(late));
    writeFileSync(file, '');
    const second = lines(10_000, '5');
    appendFileSync(file, text(second));
    await expectCounted([...first, ...late, ...second]);
    expect(await f.stop()).toBe(0);
    // While it is stopped, more lines; a restart resumes where the state file says.
    const third = lines(2_500, '6');
    appendFileSync(file, text(third));
    f = await follower(file, state);
    expect(f.output()).toMatch(/following .*access\.log from byte \d+, where the last run left it/);
    const fourth = lines(2_500, '7');
    appendFileSync(file, text(fourth));
    await expectCounted([...first, ...late, ...second, ...third, ...fourth]);
    expect(await f.stop()).toBe(0);
  }, 60_000);

  it('copytruncate: the file copied, then cut to nothing, then written again: every line once', async () => {
    const file = join(dir, 'truncated.log');
    writeFileSync(file, '');
    const f = await follower(file, join(dir, 'truncate-state.json'));
    const before = lines(5_000, '8');
    appendFileSync(file, text(before));
    await expectCounted(before);
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    // New lines, new first bytes (a log's first line carries its time), whatever size the file has regrown to.
    const after = lines(5_000, '9').reverse();
    appendFileSync(file, text(after));
    await expectCounted([...before, ...after]);
    expect(f.output()).toMatch(/was truncated/);
    await f.stop();
  });

  it('with no agent listening yet, lines are held until it does, then each is counted once', async () => {
    await agent.stop();
    const file = join(dir, 'held.log');
    writeFileSync(file, '');
    const f = await follower(file, join(dir, 'held-state.json'));
    const written = lines(3_000, '10');
    appendFileSync(file, text(written));
    await until('the follower to notice nothing listens', () => /nothing listens at udp 127\.0\.0\.1:\d+/.test(f.output()), 10_000);
    agent = await startAgent(writeConfig(agentConfig(redis, port, { flush_interval_ms: 50 })));
    await expectCounted(written);
    await f.stop();
  });

  it('a line without its newline yet waits for it; stdin (a piped log) sends its last line at the end', async () => {
    const file = join(dir, 'slow.log');
    writeFileSync(file, '');
    const f = await follower(file, join(dir, 'slow-state.json'));
    const [one, two] = lines(2, '11');
    appendFileSync(file, `${one}\n${two!.slice(0, 20)}`);
    await expectCounted([one!]);
    appendFileSync(file, `${two!.slice(20)}\n`);
    await expectCounted([one!, two!]);
    await f.stop();
    const piped = lines(1_000, '12');
    const r = await run('node', [AGENT_BIN, 'follow', '-', '--to', `127.0.0.1:${port}`], text(piped).trimEnd());
    expect(r.code).toBe(0);
    await expectCounted([one!, two!, ...piped]);
  });
});
