/** totalizer-agent against a real redis-server, fed with real UDP datagrams. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { scrape } from '../helpers/metrics.js';
import { until } from '../helpers/wait.js';
import { FIXTURE_LOG, sendLines, startAgent, untilTaken, waitFor, writeConfig } from '../helpers/agent.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { TOKEN_PREFIX } from '../../src/agent/writer.js';
import { agentConfig, sumOf as sumOfIn, totalsBy as totalsByIn } from '../helpers/counters.js';

const LOG = readFileSync(FIXTURE_LOG, 'latin1').split('\n').filter(Boolean);

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => redis?.stop());
beforeEach(async () => {
  await redis.client.flushall();
});

const sumOf = (pattern: string) => sumOfIn(redis, pattern);
const totalsBy = (prefix: string) => totalsByIn(redis, prefix);
const cfg = (port: number, extra: object = {}, rules?: object[]) => agentConfig(redis, port, extra, rules);

describe('listening', () => {
  it('several bindings, several rules per binding, several lines per datagram, \\xNN bytes, IPv6', async () => {
    const [a, b, c] = [await freePort(), await freePort(), await freePort('::1')];
    const path = writeConfig(
      cfg(a, {}, [
        { name: 'words', prefix: 'w', matchex: '^word (\\S+)' },
        { name: 'any', prefix: 'any', matchex: '^(\\S+)' },
        { name: 'other', prefix: 'o', port: b, matchex: '^(\\S+)' },
        { name: 'six', prefix: 'six', address: '::1', port: c, matchex: '^(\\S+)' },
      ]),
    );
    const agent = await startAgent(path, [], 3);
    try {
      await sendLines(a, ['word alpha', 'word beta', 'word alpha', 'bin\x01\xff'], 4);
      await sendLines(b, ['x', 'y'], 2);
      await sendLines(c, ['v6'], 1, 1000, '::1');
      const ok = await waitFor(async () => (await sumOf('*')) === 3 + 4 + 2 + 1);
      expect(ok).toBe(true);
      expect(await totalsBy('w')).toEqual(
        new Map([
          ['alpha', 2],
          ['beta', 1],
        ]),
      );
      expect(await totalsBy('any')).toEqual(
        new Map([
          ['word', 3],
          ['bin\\x01\\xff', 1],
        ]),
      );
      expect(await totalsBy('o')).toEqual(
        new Map([
          ['x', 1],
          ['y', 1],
        ]),
      );
      expect(await totalsBy('six')).toEqual(new Map([['v6', 1]]));
    } finally {
      await agent.stop();
    }
  });
});

describe('buckets', () => {
  it('aligned keys share boundaries; first-event keys start at the first event; EXPIRE is the rule ttl', async () => {
    const port = await freePort();
    const path = writeConfig(
      cfg(port, {}, [
        { name: 'al', prefix: 'al', matchex: '^(\\S+)', ttl: 600, buckets: 6 },
        { name: 'fe', prefix: 'fe', matchex: '^(\\S+)', ttl: 600, buckets: 6, bucket_alignment: 'first-event' },
        { name: 'one', prefix: 'one', matchex: '^(\\S+)', ttl: 77 },
      ]),
    );
    const before = Math.floor(Date.now() / 1000);
    const agent = await startAgent(path);
    try {
      await sendLines(port, ['x']);
      expect(await waitFor(async () => (await sumOf('*')) === 3)).toBe(true);
      const after = Math.floor(Date.now() / 1000);
      const [al] = await redis.client.keys('al;*');
      const [fe] = await redis.client.keys('fe;*');
      const [one] = await redis.client.keys('one;*');
      const ts = (k: string) => Number(k.split(';').pop());
      expect(ts(al!) % 100).toBe(0);
      expect(ts(al!)).toBeLessThanOrEqual(before);
      expect(ts(fe!)).toBeGreaterThanOrEqual(before);
      expect(ts(fe!)).toBeLessThanOrEqual(after);
      expect(await redis.client.ttl(al!)).toBeGreaterThan(590);
      expect(await redis.client.ttl(one!)).toBeLessThanOrEqual(77);
      expect(await redis.client.ttl(one!)).toBeGreaterThan(70);
    } finally {
      await agent.stop();
    }
  });
});

describe('exact writes', () => {
  it('a burst of N matching lines sums to N in Redis, and the counters account for every line', async () => {
    const port = await freePort();
    const path = writeConfig(cfg(port, { flush_interval_ms: 100 }));
    const agent = await startAgent(path, ['--log-level', 'info']);
    const lines = Array.from({ length: 30_000 }, (_, i) => LOG[i % 3000]!);
    try {
      await sendLines(port, lines, 1, 15_000);
      expect(await waitFor(async () => (await sumOf('web_client;*')) === 30_000, 15_000)).toBe(true);
    } finally {
      await agent.stop();
    }
    const final = agent.proc.output().match(/final stats (.*)/)![1]!;
    expect(final).toMatch(/datagrams=30000 lines=30000 matched=30000 unmatched=0 matches=30000 ignored=0 increments=30000 written=30000 pending=0 /);
    expect(final).toMatch(/dropped_pending_full=0 dropped_missing_substitution=0/);
  });
});

describe('outages and overload', () => {
  it('Redis stopped for 10 s while lines keep arriving: counts are held and written when it returns, none lost', async () => {
    const port = await freePort();
    const path = writeConfig(cfg(port, { flush_interval_ms: 100 }));
    const agent = await startAgent(path);
    try {
      await sendLines(port, LOG.slice(0, 500));
      expect(await waitFor(async () => (await sumOf('web_client;*')) === 500)).toBe(true);
      const restart = await redis.kill();
      const t0 = Date.now();
      // Keep sending through the outage: 10 s at 200 lines/s.
      await sendLines(
        port,
        Array.from({ length: 2000 }, (_, i) => LOG[i % 3000]!),
        1,
        200,
      );
      expect(Date.now() - t0).toBeGreaterThan(9000);
      await restart();
      await redis.client.connect().catch(() => undefined);
      await waitFor(() => redis.client.status === 'ready');
      // The killed Redis lost its data (no persistence): only what was held during the outage comes back.
      expect(await waitFor(async () => (await sumOf('web_client;*')) === 2000, 10_000)).toBe(true);
    } finally {
      await agent.stop();
    }
    expect(agent.proc.output()).toMatch(/redis write failed .* retried as sent and applied at most once/);
    expect(agent.proc.output()).toMatch(/final stats .*increments=2500 written=2500 pending=0 .*redis_errors=[1-9]/);
  }, 40_000);

  it('Redis holding writes past the agent’s 5 s timeout: the late write and its retry count once', async () => {
    const [port, metrics] = [await freePort(), await freePort()];
    const agent = await startAgent(writeConfig(cfg(port, { flush_interval_ms: 100, metrics: `127.0.0.1:${metrics}` })));
    const admin = redis.client.duplicate();
    try {
      // Writes wait in Redis for 7 s and are then applied: the agent's first write times out at 5 s, it
      // retries, and both the original and the retry reach Redis.
      await admin.call('CLIENT', 'PAUSE', '7000', 'WRITE');
      await sendLines(port, LOG.slice(0, 500));
      // Once the agent has settled its retry (it counts the increments written only then), the sum is the lines
      // sent: the late original and the retry were applied once.
      const written = async () => (await scrape(metrics)).get('totalizer_agent_increments_written_total');
      await until(
        'the agent to settle its write',
        async () => (await written()) === 500,
        20_000,
        async () => `written ${await written()}`,
      );
      expect(await sumOf('web_client;*')).toBe(500);
      // The one token of this agent process, expiring a day after its last write.
      const tokens = await redis.client.keys(`${TOKEN_PREFIX}*`);
      expect(tokens).toHaveLength(1);
      expect(await redis.client.ttl(tokens[0]!)).toBeGreaterThan(86_000);
    } finally {
      admin.disconnect();
      await agent.stop();
    }
    expect(agent.proc.output()).toMatch(/redis write failed \(Redis did not reply in time\); 500 increment\(s\) sent without a reply will be retried as sent/);
    expect(agent.proc.output()).toMatch(/final stats .*increments=500 written=500 pending=0 .*redis_errors=[1-9]/);
  }, 30_000);

  it('beyond the distinct-key limit increments are dropped and counted, never silently', async () => {
    const [port, metrics] = [await freePort(), await freePort()];
    const path = writeConfig(cfg(port, { flush_interval_ms: 100, max_pending_keys: 50, metrics: `127.0.0.1:${metrics}` }));
    const agent = await startAgent(path);
    const restart = await redis.kill();
    try {
      const unique = Array.from({ length: 300 }, (_, i) => `10.9.${i >> 8}.${i & 255} - - [x] "GET / HTTP/1.1" 200 1 "-" "-"`);
      await sendLines(port, unique, 10, 5000);
      await untilTaken(metrics, 30);
    } finally {
      await restart();
      await redis.client.connect().catch(() => undefined);
      await waitFor(() => redis.client.status === 'ready');
    }
    // At most 50 distinct keys are held in all: pending, being written, or sent without a reply.
    expect(await waitFor(async () => (await sumOf('web_client;*')) === 50, 10_000)).toBe(true);
    await agent.stop();
    expect(agent.proc.output()).toMatch(/final stats .*increments=50 written=50 pending=0 pending_keys=0 dropped_pending_full=250 /);
  }, 30_000);

  it('SIGTERM flushes pending counts before exit', async () => {
    const [port, metrics] = [await freePort(), await freePort()];
    // A long flush interval: nothing is written before the signal.
    const path = writeConfig(cfg(port, { flush_interval_ms: 60_000, metrics: `127.0.0.1:${metrics}` }));
    const agent = await startAgent(path);
    await sendLines(port, LOG.slice(0, 1000));
    await untilTaken(metrics, 1000);
    expect(await sumOf('web_client;*')).toBe(0);
    expect(await agent.stop()).toBe(0);
    expect(await sumOf('web_client;*')).toBe(1000);
  });

  it('receive_buffer_bytes over the kernel cap (net.core.rmem_max) is warned about at start, naming the sysctl', async () => {
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
    const over = await startAgent(writeConfig(cfg(await freePort(), { receive_buffer_bytes: rmemMax * 2 })));
    await over.stop();
    expect(over.proc.output()).toMatch(
      new RegExp(`receive buffer is ${rmemMax} bytes, not the ${rmemMax * 2} asked .*sysctl -w net\\.core\\.rmem_max=${rmemMax * 2}`),
    );
    const within = await startAgent(writeConfig(cfg(await freePort(), { receive_buffer_bytes: 65_536 })));
    await within.stop();
    expect(within.proc.output()).not.toMatch(/receive buffer is/);
  });

  it('workers: 2 share the port, every line is counted once, and SIGTERM flushes both', async () => {
    const [port, metrics] = [await freePort(), await freePort()];
    const path = writeConfig(cfg(port, { workers: 2, flush_interval_ms: 60_000, metrics: `127.0.0.1:${metrics}` }));
    const agent = await startAgent(path);
    expect(agent.proc.output()).toMatch(/listening on udp 127\.0\.0\.1:\d+ for rule\(s\) web_client with 2 workers/);
    const lines = Array.from({ length: 6000 }, (_, i) => LOG[i % 3000]!);
    const matching = lines.filter((l) => /" \d{3} /.test(l)).length;
    await sendLines(port, lines, 1, 5000);
    await untilTaken(metrics, lines.length);
    // Nothing written yet (long flush interval): the counts sit in the workers until SIGTERM.
    expect(await sumOf('web_client;*')).toBe(0);
    expect(await agent.stop()).toBe(0);
    expect(await sumOf('web_client;*')).toBe(matching);
    const finals = [...agent.proc.output().matchAll(/totalizer-agent worker \d+: final stats .*? increments=(\d+) written=(\d+) /g)];
    expect(finals).toHaveLength(2);
    expect(finals.reduce((a, m) => a + Number(m[2]), 0)).toBe(matching);
  }, 20_000);
});
