/**
 * The introspection names (config, stats, queues) never carry the Redis credentials, over UDP or TCP, nor does
 * /metrics, an error TXT, or the log; every config record parses the way the original's fleet tool parses it
 * (`dict(txt.split(':'))`, run here in Python); INTROSPECTION turns them off or limits them to some networks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, txt, type Decoded } from '../helpers/dns.js';
import { get } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { run } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { counter, RKVDNS_BIN, startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';

const USER = 'dnsreader';
const PASSWORD = 'Sup3r-s3cret.pw';
let redis: TestRedis;
let server: TestRkvdns;
let metricsPort: number;

/** Every TXT string of an answer, asserting it is NOERROR. */
function strings(d: Decoded): string[] {
  expect(d.rcode).toBe('NOERROR');
  return txt(d).map((r) => r.join(''));
}

beforeAll(async () => {
  redis = await startRedis();
  await redis.client.call('ACL', 'SETUSER', USER, 'on', `>${PASSWORD}`, '~*', '+@read', '+@connection');
  await redis.client.set('k', 'v');
  metricsPort = await freePort();
  server = await startRkvdns(`redis://${USER}:${PASSWORD}@127.0.0.1:${redis.port}/0`, {
    METRICS: `127.0.0.1:${metricsPort}`,
    ENABLE_ERROR_TXT: true,
    // Values that hold colons in their own form: IPv6 networks, a host and port, a glob.
    ALLOW_QUERY: '127.0.0.0/8,::1/128,2001:db8::/32',
    EXPOSE_KEYS: 'k app:*',
  });
});

afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

describe('no credential leaves the process', () => {
  it('the server reads Redis as the ACL user (so the password was used)', async () => {
    expect(strings(await ask(server.port, `k.get.${ZONE}`, 'TXT'))).toEqual(['v']);
  });

  it.each(['config', 'stats', 'queues'])('%s.<zone> over UDP and TCP holds neither the password nor the user', async (name) => {
    for (const tcp of [false, true]) {
      const d = await ask(server.port, `${name}.${ZONE}`, 'TXT', { tcp, edns: 4096 });
      const all = strings(d).join('\n');
      expect(all.length).toBeGreaterThan(0);
      expect(all).not.toContain(PASSWORD);
      expect(all).not.toContain(USER);
    }
  });

  it('config shows where Redis is: host, port and database', async () => {
    const config = strings(await ask(server.port, `config.${ZONE}`, 'TXT', { tcp: true }));
    expect(config).toContain(`REDIS_SERVER:127.0.0.1 port ${redis.port} db 0`);
    expect(config).toContain(`METRICS:127.0.0.1 port ${metricsPort}`);
    expect(config).toContain('ALLOW_QUERY:127.0.0.0/8,--1/128,2001-db8--/32');
    expect(config).toContain('EXPOSE_KEYS:k app\\x3a*');
  });

  it('/metrics and an error TXT (Redis gone) hold neither; nor does the log', async () => {
    const metrics = await get(metricsPort, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).not.toContain(PASSWORD);
    const restart = await redis.kill();
    try {
      const d = await ask(server.port, `app:1.get.${ZONE}`, 'TXT');
      // The error comes as a CNAME to <digits>.error.<zone> and a TXT there (ENABLE_ERROR_TXT).
      expect(d.rcode).toBe('NOERROR');
      const errorText = txt(d).flat().join(' ');
      // In plain words, not the client library's.
      expect(errorText).toMatch(
        /^Query failure: (redis [\d.:]+: (not connected|connection lost \(Redis (closed|reset) the connection\))|not connected to Redis|Redis refused the connection|the connection to Redis is closed)/,
      );
      expect(errorText).not.toContain(PASSWORD);
    } finally {
      await restart();
      await redis.client.call('ACL', 'SETUSER', USER, 'on', `>${PASSWORD}`, '~*', '+@read', '+@connection');
      await redis.client.set('k', 'v');
    }
    expect(server.proc.output()).toMatch(/redis .*not reachable|redis 127\.0\.0\.1/);
    expect(server.proc.output()).not.toContain(PASSWORD);
    expect(server.proc.output()).not.toMatch(/enableOfflineQueue|Stream isn't writeable/);
  });

  it('a start-up error about the URL does not print the password either', async () => {
    const r = await run(process.execPath, [RKVDNS_BIN, '--zone', ZONE, '--listen', '127.0.0.1:0', '--redis', `http://${USER}:${PASSWORD}@127.0.0.1:1`]);
    expect(r.code).not.toBe(0);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/setting REDIS_SERVER: .* must start with redis:\/\//);
    expect(r.stderr).not.toContain(PASSWORD);
  });
});

describe("config parses as the original's fleet tool parses it", () => {
  it('each record splits on ":" into exactly a name and a value, for every setting', async () => {
    const records = strings(await ask(server.port, `config.${ZONE}`, 'TXT', { tcp: true }));
    // fleet-management/config.py: dict(b''.join(rr.strings).decode().split(':') for rr in ...)
    const script = 'import json,sys\nrecords=json.load(sys.stdin)\nprint(json.dumps(dict(r.split(":") for r in records)))';
    const r = await run('python3', ['-c', script], JSON.stringify(records));
    expect(r.stderr).toBe('');
    const parsed = JSON.parse(r.stdout) as Record<string, string>;
    const settingsHelp = await run(process.execPath, [RKVDNS_BIN, '--help']);
    const names = [...settingsHelp.stdout.matchAll(/^ {2}([A-Z][A-Z0-9_]+) /gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(40);
    expect(Object.keys(parsed).sort()).toEqual([...names].sort());
    expect(parsed.ZONE).toBe(ZONE);
    expect(parsed.INTROSPECTION).toBe('True');
  });
});

describe('INTROSPECTION', () => {
  it.each([
    ['False', ['REFUSED', 'REFUSED']],
    ['10.0.0.0/8', ['REFUSED', 'REFUSED']],
    ['127.0.0.2/32,10.0.0.0/8', ['REFUSED', 'NOERROR']],
  ])('%s: config from 127.0.0.1 and from 127.0.0.2 is %j; other names are still answered', async (setting, expected) => {
    const s = await startRkvdns(redis.url, { INTROSPECTION: setting });
    try {
      for (const name of ['config', 'stats', 'queues']) {
        const rcodes = [];
        for (const from of ['127.0.0.1', '127.0.0.2']) rcodes.push((await ask(s.port, `${name}.${ZONE}`, 'TXT', { from, tcp: true })).rcode);
        expect(rcodes).toEqual(expected);
      }
      expect((await ask(s.port, `k.get.${ZONE}`, 'TXT')).rcode).toBe('NOERROR');
      // Counted; read from where introspection is allowed, if anywhere.
      const refused = expected.filter((r) => r === 'REFUSED').length * 3;
      if (expected[1] === 'NOERROR') expect(await counter(s.port, 'refused_introspection', '127.0.0.2')).toBe(refused);
    } finally {
      await s.stop();
    }
  });

  it('a bad value stops start-up, naming the setting', async () => {
    await expect(startRkvdns(redis.url, { INTROSPECTION: 'sometimes' })).rejects.toThrow(/setting INTROSPECTION: 'sometimes' is not an address/);
  });
});
