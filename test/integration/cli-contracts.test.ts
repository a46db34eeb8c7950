import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bin, startRkvdns } from '../../src/harness/programs.js';
import { ask, txt } from '../helpers/dns.js';
import { ZONE } from '../helpers/rkvdns.js';
import { writeConfig } from '../helpers/agent.js';
import { run } from '../helpers/process.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('--version', () => {
  it.each(['rkvdns', 'agent', 'totalize'] as const)('%s prints the package version and exits 0', async (name) => {
    for (const flag of ['--version', '-V']) {
      const r = await run('node', [bin(name), flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(version);
    }
  });
});

describe('--help names the instruments', () => {
  it.each([
    ['rkvdns', ['--help']],
    ['agent', ['run', '--help']],
    ['totalize', ['exporter', '--help']],
  ] as const)('%s %s', async (name, args) => {
    const r = await run('node', [bin(name), ...args]);
    expect(r.code).toBe(0);
    for (const endpoint of ['/metrics', '/healthz', '/readyz']) expect(r.stdout).toContain(endpoint);
  });
  it('totalize --help points to the exporter and the prometheus format', async () => {
    const r = await run('node', [bin('totalize'), '--help']);
    expect(r.stdout).toMatch(/prometheus/);
    expect(r.stdout).toMatch(/totalize exporter/);
  });
});

describe('usage errors exit 2 with the error and one line of help; run-time failures exit 1', () => {
  const agentConfig = writeConfig({ redis: 'redis://127.0.0.1:6379', rules: [{ name: 'r', prefix: 'p', port: 1, matchex: '(x)', ttl: '1h' }] });
  it.each([
    ['rkvdns', ['--zone', 'z.test', '--bogus'], /unknown option '--bogus'/],
    ['rkvdns', ['--zone', 'z.test', '--case-folding', 'sideways'], /argument 'sideways' is invalid\. Allowed choices are none, lower, upper, escape/],
    ['rkvdns', ['--zone', 'z.test', '--max-ttl', '-1'], /setting MAX_TTL: expected whole seconds/],
    ['rkvdns', ['--zone', 'z.test', '--redis', 'http://h:1'], /setting REDIS_SERVER: 'http:\/\/h:1' must start with redis:\/\//],
    ['rkvdns', ['--zone', 'z.test', '--set', 'NOSUCH=1'], /setting NOSUCH: unknown setting/],
    ['agent', ['--config', agentConfig, '--bogus'], /unknown option '--bogus'/],
    ['agent', ['--config', agentConfig, '--redis', 'nope'], /--redis 'nope' is not a URL/],
    ['agent', ['--config', '/nonexistent.yaml'], /cannot load \/nonexistent\.yaml: ENOENT/],
    ['totalize', ['web', '--zone', 'z.test', '--window', '0'], /--window '0' is empty/],
    ['totalize', ['web', '--zone', 'z.test', '--window', 'soon'], /--window 'soon' is not a duration/],
    ['totalize', ['web', '--zone', 'z.test', '--format', 'xml'], /argument 'xml' is invalid/],
  ] as const)('%s %j', async (name, args, error) => {
    const r = await run('node', [bin(name), ...args]);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 2, stderr: expect.stringMatching(error) });
    // The error and a pointer to --help, not the whole help text.
    expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(3);
  });

  it('durations read alike: ttl 1d for the agent, --max-ttl 5m for rkvdns, --window 1d for totalize', async () => {
    const day = writeConfig({ redis: 'redis://127.0.0.1:6379', rules: [{ name: 'r', prefix: 'p', port: 1, matchex: '(x)', ttl: '1d', buckets: 24 }] });
    const check = await run('node', [bin('agent'), 'check', '--config', day], 'x\n');
    expect(check.code).toBe(0);
    const server = await startRkvdns('redis://127.0.0.1:1', ZONE, { args: ['--max-ttl', '5m', '--default-ttl', '30s'] });
    try {
      const config = txt(await ask(server.port, `config.${ZONE}`, 'TXT', { tcp: true })).map((r) => r[0]);
      expect(config).toEqual(expect.arrayContaining(['MAX_TTL:300', 'DEFAULT_TTL:30']));
      const window = await run('node', [bin('totalize'), 'nothing', '--zone', ZONE, '--server', `127.0.0.1:${server.port}`, '--window', '1d']);
      expect(window.stderr).not.toMatch(/--window/);
    } finally {
      await server.stop();
    }
  });

  it('a port that cannot be bound is a run-time failure: exit 1, saying what to do', async () => {
    const taken = dgram.createSocket('udp4');
    await new Promise<void>((r) => taken.bind(0, '127.0.0.1', () => r()));
    try {
      const r = await run('node', [bin('rkvdns'), '--zone', 'z.test', '--listen', `127.0.0.1:${taken.address().port}`, '--redis', 'redis://127.0.0.1:1']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot bind 127\.0\.0\.1:\d+: address in use\. Stop the other DNS server there or choose another --listen address/);
    } finally {
      taken.close();
    }
  });
});
