/** Configuration file, command-line overrides, start-up errors, and a read-only Redis ACL user. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, txt } from '../helpers/dns.js';
import { run, startProcess } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { RKVDNS_BIN, ZONE, startRkvdns } from '../helpers/rkvdns.js';
import { freePort } from '../helpers/ports.js';
import { until } from '../helpers/wait.js';

const SAMPLE = fileURLToPath(new URL('../../config/rkvdns.yaml', import.meta.url));
let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis();
  await redis.client.set('k', 'v');
});
afterAll(async () => redis?.stop());

const configLines = async (port: number) => txt(await ask(port, `config.${ZONE}`, 'TXT', { tcp: true })).map((r) => r[0]!);

describe('configuration', () => {
  it('the shipped config/rkvdns.yaml loads; command-line flags override it', async () => {
    const port = await freePort();
    const p = await startProcess(
      'node',
      [
        RKVDNS_BIN,
        '--config',
        SAMPLE,
        '--listen',
        `127.0.0.1:${port}`,
        '--redis',
        redis.url,
        '--zone',
        ZONE,
        '--default-ttl',
        '17',
        '--case-folding',
        'escape',
        '--conformance',
        '--log-level',
        'debug',
        '--min-ttl',
        '3',
        '--max-ttl',
        '99',
      ],
      / on 127\.0\.0\.1:\d+ /,
    );
    try {
      const lines = await configLines(port);
      expect(lines).toEqual(
        expect.arrayContaining([
          `ZONE:${ZONE}`,
          'DEFAULT_TTL:17',
          'MIN_TTL:3',
          'MAX_TTL:99',
          'CASE_FOLDING:escape',
          'CONFORMANCE:True',
          'LOG_LEVEL:debug',
          'RKVDNS_FQDN:ns1.example.com',
          'MAX_UDP_PAYLOAD:1200',
          'STATS:60',
          `PORT:${port}`,
        ]),
      );
    } finally {
      await p.stop();
    }
  });

  it('--set overrides any setting by its upstream name', async () => {
    const s = await startRkvdns(redis.url, { MAX_VALUE_PAYLOAD: 99, ENABLE_ERROR_TXT: true });
    try {
      expect(await configLines(s.port)).toEqual(expect.arrayContaining(['MAX_VALUE_PAYLOAD:99', 'ENABLE_ERROR_TXT:True']));
    } finally {
      await s.stop();
    }
  });

  it.each([
    [['--set', 'MAX_TTL=soon'], /setting MAX_TTL: expected whole seconds .*90s, 30m, 1h, 1d.*got "soon"/],
    [['--set', 'CASE_FOLDING=sideways'], /setting CASE_FOLDING: expected one of none, lower, upper, escape/],
    [['--set', 'MAX_UDP_PAYLOAD=100'], /setting MAX_UDP_PAYLOAD: expected an integer from 512/],
    [['--set', 'NO_SUCH=1'], /setting NO_SUCH: unknown setting/],
    [['--min-ttl', '500', '--max-ttl', '100'], /setting MIN_TTL: \(500\) is larger than MAX_TTL \(100\)/],
    [['--listen', 'nonsense'], /--listen: expected HOST:PORT/],
    [['--redis', 'http://x'], /setting REDIS_SERVER: 'http:\/\/x' must start with redis:\/\//],
  ])('%j stops start-up with a message naming the setting', async (args, message) => {
    const r = await run('node', [RKVDNS_BIN, '--zone', ZONE, '--listen', '127.0.0.1:0', ...args]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('a missing ZONE is reported with how to fix it', async () => {
    const r = await run('node', [RKVDNS_BIN, '--listen', '127.0.0.1:0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/setting ZONE: is required: set ZONE in the config file or pass --zone/);
  });

  it('an unknown key in the config file names the key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rkvdns-'));
    writeFileSync(join(dir, 'bad.yaml'), 'ZONE: a.test\nMAX_TTTL: 5\n');
    const r = await run('node', [RKVDNS_BIN, '--config', join(dir, 'bad.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/setting MAX_TTTL: unknown setting/);
  });

  it('a port in use says so and exits nonzero', async () => {
    const s = await startRkvdns(redis.url);
    try {
      const r = await run('node', [RKVDNS_BIN, '--zone', ZONE, '--redis', redis.url, '--listen', `127.0.0.1:${s.port}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/address in use/);
    } finally {
      await s.stop();
    }
  });

  it('--help lists the settings with defaults', async () => {
    const r = await run('node', [RKVDNS_BIN, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/DEFAULT_TTL\s+30\s+/);
    expect(r.stdout).toMatch(/--listen <host:port>/);
  });
});

describe('read-only', () => {
  it('works with an ACL user limited to +@read +@connection -@dangerous', async () => {
    const c = redis.client;
    await c.call('ACL', 'SETUSER', 'reader', 'on', '>pw', '~*', '+@read', '+@connection', '-@dangerous');
    await c.hset('h', 'f', '1');
    await c.rpush('l', 'a');
    await c.sadd('s', 'm');
    await c.set('t;a;1', '5');
    const s = await startRkvdns(`redis://reader:pw@127.0.0.1:${redis.port}`, { RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test' });
    try {
      const names = [
        'k.get',
        'f.h.hget',
        'h.hkeys',
        'h.hlen',
        '*.keys',
        '*.klen',
        't.kplen',
        '0.l.lindex',
        'l.llen',
        ':.l.lrange',
        's.scard',
        's.smembers',
        't\\;*\\;*.shards',
        't\\;*\\;*.shget',
      ];
      for (const n of names) {
        const d = await ask(s.port, `${n}.${ZONE}`, 'TXT', { tcp: true });
        expect({ n, rcode: d.rcode, answered: (d.answers ?? []).length > 0 }).toEqual({ n, rcode: 'NOERROR', answered: true });
      }
      // The same user cannot write: proof the ACL is really in force.
      const { Redis } = await import('ioredis');
      const reader = new Redis(`redis://reader:pw@127.0.0.1:${redis.port}`);
      await expect(reader.set('x', '1')).rejects.toThrow(/NOPERM/);
      reader.disconnect();
    } finally {
      await s.stop();
    }
  });
});

describe('LOG_FORMAT json', () => {
  it('rkvdns logs one JSON object per line, per-query lines with the query, client, rcode and cause', async () => {
    const s = await startRkvdns(redis.url, { LOG_FORMAT: 'json' });
    try {
      await ask(s.port, `k.frob.${ZONE}`, 'TXT');
      await until('the query to be logged', () => s.proc.output().includes('k.frob.rkvdns.test.'), 5000);
      const records = s.proc
        .output()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(records[0]).toMatchObject({ level: 'info', name: 'rkvdns', msg: expect.stringMatching(/^serving zone rkvdns\.test on 127\.0\.0\.1:\d+/) });
      expect(records).toContainEqual(
        expect.objectContaining({
          level: 'info',
          query: `k.frob.${ZONE}.`,
          client: expect.stringMatching(/^127\.0\.0\.1#\d+$/),
          rcode: 'FORMERR',
          cause: 'operand',
        }),
      );
    } finally {
      await s.stop();
    }
  });
});
