/** totalizer-agent against a real redis-server, fed with real UDP datagrams. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TOKEN_PREFIX } from '../../src/agent/writer.js';
import { scrape } from '../helpers/metrics.js';
import { until } from '../helpers/wait.js';
import { AGENT_BIN, FIXTURE_LOG, sendLines, startAgent, untilTaken, waitFor, writeConfig } from '../helpers/agent.js';
import { freePort } from '../helpers/ports.js';
import { run } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const SAMPLE_YAML = fileURLToPath(new URL('../../config/agent.yaml', import.meta.url));
const SAMPLE_MJS = fileURLToPath(new URL('../../config/agent.config.mjs', import.meta.url));
const WEB_CLIENT = { name: 'web_client', prefix: 'web_client', matchex: '^(\\S+) \\S+ \\S+ \\[[^\\]]*\\] "[^"]*" (\\d{3}) ', matched: '{1},{2}' };
const LOG = readFileSync(FIXTURE_LOG, 'latin1').split('\n').filter(Boolean);

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => redis?.stop());
beforeEach(async () => {
  await redis.client.flushall();
});

/** The counters matching `pattern`; the agent's own token keys are not counters. */
async function sumOf(pattern: string): Promise<number> {
  const keys = (await redis.client.keys(pattern)).filter((k) => !k.startsWith(TOKEN_PREFIX));
  if (keys.length === 0) return 0;
  return (await redis.client.mget(keys)).reduce((a, v) => a + Number(v), 0);
}

function expectedFromLog(rx: RegExp, fmt: (m: RegExpExecArray) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of LOG) {
    const m = rx.exec(l);
    if (m) out.set(fmt(m), (out.get(fmt(m)) ?? 0) + 1);
  }
  return out;
}

async function totalsBy(prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const keys = await redis.client.keys(`${prefix};*`);
  const vals = keys.length ? await redis.client.mget(keys) : [];
  keys.forEach((k, i) => {
    const f = k.split(';')[1]!;
    out.set(f, (out.get(f) ?? 0) + Number(vals[i]));
  });
  return out;
}

const cfg = (port: number, extra: object = {}, rules: object[] = [WEB_CLIENT]) => ({
  redis: redis.url,
  stats: 0,
  defaults: { port, ttl: 3600, buckets: 4, source: 'sophia' },
  rules,
  ...extra,
});

describe('the shipped sample config', () => {
  it('counts the sample log per client address and status, and per page, exactly', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const text = readFileSync(SAMPLE_YAML, 'utf8')
      .replace('redis://127.0.0.1:6379', redis.url)
      .replace('port: 3430', `port: ${p1}`)
      .replace('port: 3431', `port: ${p2}`);
    const path = writeConfig(text);
    const agent = await startAgent(path, [], 2);
    try {
      await sendLines(p1, LOG, 10);
      const matching = LOG.filter((l) => /" \d{3} /.test(l)).length;
      expect(await waitFor(async () => (await sumOf('web_client;*')) === matching)).toBe(true);
      const clients = expectedFromLog(/^(\S+) \S+ \S+ \[[^\]]*\] "[^"]*" (\d{3}) /, (m) => `${m[1]},${m[2]}`);
      expect(await totalsBy('web_client')).toEqual(clients);
      const pages = expectedFromLog(/^\S+ \S+ \S+ \[[^\]]*\] "[A-Z]+ ([^ "?]+)/, (m) => m[1]!.split(';')[0]!.toLowerCase().slice(0, 32));
      expect(await waitFor(async () => (await sumOf('web_page;*')) === matching)).toBe(true);
      expect(await totalsBy('web_page')).toEqual(pages);
      const key = (await redis.client.keys('web_client;*'))[0]!;
      expect(key).toMatch(/^web_client;[\d.]+,\d{3};sophia;\d+$/);
      const ttl = await redis.client.ttl(key);
      expect(ttl).toBeGreaterThan(86000);
      expect(Number(key.split(';')[3]) % 900).toBe(0);
    } finally {
      await agent.stop();
    }
    // Started as shipped, it has nothing to warn about, whatever the machine's net.core.rmem_max.
    expect(agent.proc.output()).not.toMatch(/ WARN /);
    expect(agent.proc.output()).toMatch(/receive buffer \d+ bytes \(receive_buffer_bytes unset/);
  });

  it('the JS module config with postproc produces the same keys as the YAML config', async () => {
    const yaml = await run('node', [AGENT_BIN, 'check', '--config', SAMPLE_YAML, FIXTURE_LOG]);
    const mjs = await run('node', [AGENT_BIN, 'check', '--config', SAMPLE_MJS, FIXTURE_LOG]);
    expect(yaml.code).toBe(0);
    const rulesOf = (out: string) => out.split('\n').filter((l) => /^rule web_/.test(l));
    expect(rulesOf(mjs.stdout)).toEqual(rulesOf(yaml.stdout));
    expect(rulesOf(yaml.stdout)).toEqual([
      'rule web_client: 3000 line(s) matched, 216 distinct key(s)',
      'rule web_page: 3000 line(s) matched, 16 distinct key(s)',
    ]);
  });
});

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

describe('test mode and rule checking', () => {
  it('--test prints the keys instead of writing; --print-lines echoes each line', async () => {
    const port = await freePort();
    const path = writeConfig(cfg(port));
    const agent = await startAgent(path, ['--test', '--print-lines']);
    try {
      await sendLines(port, [LOG[1]!]);
      expect(await waitFor(() => /web_client;10\.0\.3\.231,200;sophia;\d+/.test(agent.proc.output()))).toBe(true);
      expect(agent.proc.output()).toContain(`line: ${LOG[1]}`);
      expect(await redis.client.dbsize()).toBe(0);
    } finally {
      await agent.stop();
    }
  });

  it('check reports per rule, reads stdin, and lists lines no rule matched', async () => {
    const r = await run(
      'node',
      [AGENT_BIN, 'check', '--config', SAMPLE_YAML, '-'],
      Buffer.concat([readFileSync(FIXTURE_LOG), Buffer.from('<13>Nov 22 21:00:00 web1 sshd[99]: accepted\n')]),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^3003 line\(s\) read$/m);
    expect(r.stdout).toMatch(/^rule syslog_tags: 1 line\(s\) matched, 1 distinct key\(s\)\n\s+syslog_tags;sshd;sophia;\d+$/m);
    expect(r.stdout).toMatch(/^no rule matched: 2 line\(s\)\n\s+this is not a log line\n\s+-- garbage \\x01\\x02\\xff --$/m);
  });

  it('config errors stop start-up naming the rule and the problem', async () => {
    for (const [rules, message] of [
      [[{ name: 'bad', matchex: '(' }], /rule bad: bad matchex/],
      [[{ name: 'kp', matchex: 'x', keypattern: '{<a>' }], /rule kp: bad keypattern/],
      [[{ name: 'np', matchex: 'x', port: null }], /rule np: no port/],
      [[{ name: 'uf', matchex: 'x', colour: 1 }], /rule uf: unknown field 'colour'/],
    ] as const) {
      const path = writeConfig({ defaults: { ttl: 60, port: 1 }, rules });
      const r = await run('node', [AGENT_BIN, '--config', path]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('syslog', () => {
  it('logger (RFC 3164 over UDP) feeds the syslog_tags rule', async () => {
    const port = await freePort();
    const path = writeConfig(
      cfg(port, {}, [
        { name: 'syslog_tags', prefix: 'syslog_tags', matchex: '^(?:<\\d{1,3}>)?[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\S+ ([^:\\[\\s]+)' },
      ]),
    );
    const agent = await startAgent(path);
    try {
      for (let i = 0; i < 3; i++) await run('logger', ['--rfc3164', '-d', '-n', '127.0.0.1', '-P', String(port), '-t', 'backup', 'nightly run done']);
      await run('logger', ['--rfc3164', '-d', '-n', '127.0.0.1', '-P', String(port), '-t', 'sshd', 'accepted']);
      expect(await waitFor(async () => (await sumOf('syslog_tags;*')) === 4)).toBe(true);
      expect(await totalsBy('syslog_tags')).toEqual(
        new Map([
          ['backup', 3],
          ['sshd', 1],
        ]),
      );
    } finally {
      await agent.stop();
    }
  });
});
