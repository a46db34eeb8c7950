/** totalizer-agent's rules: the shipped configs on the sample log, --test, check, config errors, syslog. */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_BIN, FIXTURE_LOG, sendLines, startAgent, waitFor, writeConfig } from '../helpers/agent.js';
import { agentConfig, expectedFromLog as expectedIn, sumOf as sumOfIn, totalsBy as totalsByIn } from '../helpers/counters.js';
import { freePort } from '../helpers/ports.js';
import { run } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const SAMPLE_YAML = fileURLToPath(new URL('../../config/agent.yaml', import.meta.url));
const HOST = hostname().split('.')[0]!;
const SAMPLE_MJS = fileURLToPath(new URL('../../config/agent.config.mjs', import.meta.url));
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

const expectedFromLog = (rx: RegExp, fmt: (m: RegExpExecArray) => string) => expectedIn(LOG, rx, fmt);

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
      // The sum rule: per page, the bytes of its lines and how many there were, as "sum count".
      const want = new Map<string, string>();
      for (const l of LOG) {
        const m = /"[A-Z]+ ([^ "?]+)[^"]*" \d{3} (\d+)/.exec(l);
        if (!m) continue;
        const page = m[1]!.split(';')[0]!.toLowerCase().slice(0, 32);
        const [sum, n] = (want.get(page) ?? '0 0').split(' ').map(Number);
        want.set(page, `${sum! + Number(m[2])} ${n! + 1}`);
      }
      const got = new Map<string, string>();
      for (const k of await redis.client.keys('web_bytes;*')) {
        const [sum, n] = (await redis.client.get(k))!.split(' ').map(Number);
        const [s0, n0] = (got.get(k.split(';')[1]!) ?? '0 0').split(' ').map(Number);
        got.set(k.split(';')[1]!, `${s0! + sum!} ${n0! + n!}`);
      }
      expect(got).toEqual(want);
      const key = (await redis.client.keys('web_client;*'))[0]!;
      // source unset: this machine's short host name, so one file serves every web server.
      expect(key.split(';')[2]).toBe(HOST);
      const ttl = await redis.client.ttl(key);
      expect(ttl).toBeGreaterThan(86000);
      expect(Number(key.split(';')[3]) % 900).toBe(0);
    } finally {
      await agent.stop();
    }
    // Started as shipped, it has nothing to warn about, whatever the machine's net.core.rmem_max.
    expect(agent.proc.output()).not.toMatch(/ WARN /);
    expect(agent.proc.output()).toContain(`counting as source ${HOST} (this machine's short host name: source is unset)`);
    expect(agent.proc.output()).toMatch(/receive buffer \d+ bytes \(receive_buffer_bytes unset/);
  });

  it('the JS module config with postproc produces the same keys and values as the YAML config', async () => {
    const yaml = await run('node', [AGENT_BIN, 'check', '--config', SAMPLE_YAML, FIXTURE_LOG]);
    const mjs = await run('node', [AGENT_BIN, 'check', '--config', SAMPLE_MJS, FIXTURE_LOG]);
    expect(yaml.code).toBe(0);
    // Each web_ rule's line and its example keys (with the values a sum keeps).
    const rulesOf = (out: string) => [...out.matchAll(/^rule web_[^\n]*(?:\n {4}[^\n]*)*/gm)].map((m) => m[0]);
    expect(rulesOf(mjs.stdout)).toEqual(rulesOf(yaml.stdout));
    const bytes = expectedFromLog(/"[A-Z]+ ([^ "?]+)[^"]*" \d{3} (\d+)/, (m) => m[1]!.split(';')[0]!.toLowerCase().slice(0, 32));
    expect(rulesOf(yaml.stdout).map((r) => r.split('\n')[0])).toEqual([
      'rule web_client: 3000 line(s) matched, 216 distinct key(s)',
      'rule web_page: 3000 line(s) matched, 16 distinct key(s)',
      `rule web_bytes: ${[...bytes.values()].reduce((a, b) => a + b, 0)} line(s) matched, ${bytes.size} distinct key(s)`,
    ]);
  });
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
    expect(r.stdout).toMatch(new RegExp(`^source: ${HOST} \\(this machine's short host name: source is unset\\)$`, 'm'));
    expect(r.stdout).toMatch(/^3003 line\(s\) read$/m);
    expect(r.stdout).toMatch(new RegExp(`^rule syslog_tags: 1 line\\(s\\) matched, 1 distinct key\\(s\\)\\n\\s+syslog_tags;sshd;${HOST};\\d+$`, 'm'));
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
  it('logger feeds the shipped syslog_tags rule in both formats, RFC 5424 (its default) and RFC 3164', async () => {
    const port = await freePort();
    const shipped = (parseYaml(readFileSync(SAMPLE_YAML, 'utf8')) as { rules: { name: string }[] }).rules.find((r) => r.name === 'syslog_tags')!;
    const agent = await startAgent(writeConfig(cfg(port, {}, [{ ...shipped, port }])));
    const logger = (format: string[], tag: string, msg: string) => run('logger', [...format, '-d', '-n', '127.0.0.1', '-P', String(port), '-t', tag, msg]);
    try {
      for (let i = 0; i < 3; i++) await logger([], 'backup', 'nightly run done');
      await logger(['--rfc3164'], 'backup', 'weekly run done');
      await logger(['--rfc3164'], 'sshd', 'accepted');
      await logger(['--rfc5424'], 'cron', 'job started');
      expect(await waitFor(async () => (await sumOf('syslog_tags;*')) === 6)).toBe(true);
      expect(await totalsBy('syslog_tags')).toEqual(
        new Map([
          ['backup', 4],
          ['sshd', 1],
          ['cron', 1],
        ]),
      );
    } finally {
      await agent.stop();
    }
  });
});
