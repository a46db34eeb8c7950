/**
 * The whole path as deployed: sample log → agent → Redis → rkvdns → unbound (configured with
 * zones/unbound.conf) → totalize / dig. Also the demo command, and Ctrl-C on it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_LOG, sendLines, startAgent, untilTaken, waitFor, writeConfig } from '../helpers/agent.js';
import { dig } from '../helpers/dns.js';
import { freePort } from '../helpers/ports.js';
import { run, startProcess } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { RKVDNS_BIN } from '../helpers/rkvdns.js';
import { startResolver, type TestResolver } from '../helpers/resolvers.js';

const file = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const TOTALIZE = file('dist/cli/totalize.js');
const ZONE = 'rkvdns.example.com';
const LOG = readFileSync(FIXTURE_LOG, 'latin1').split('\n').filter(Boolean);

/** unbound with zones/unbound.conf, pointed at a test rkvdns port. */
const startShippedUnbound = (rkvdnsPort: number) => startResolver('unbound', { rkvdnsPort, minimisation: 'off' });

async function rkvdns(redisUrl: string, extra: string[] = []) {
  const port = await freePort();
  const p = await startProcess(
    'node',
    [RKVDNS_BIN, '--config', file('config/rkvdns.yaml'), '--listen', `127.0.0.1:${port}`, '--redis', redisUrl, '--set', 'STATS=0', ...extra],
    / on 127\.0\.0\.1:\d+ /,
  );
  return { port, stop: () => p.stop() };
}

function expectedCsv(rx: RegExp, fmt: (m: RegExpExecArray) => string): string[] {
  const counts = new Map<string, number>();
  for (const l of LOG) {
    const m = rx.exec(l);
    if (m) counts.set(fmt(m), (counts.get(fmt(m)) ?? 0) + 1);
  }
  return [...counts].map(([k, v]) => `${k},${v}`).sort();
}

describe('sample log through a caching resolver', () => {
  let redis: TestRedis;
  let server: Awaited<ReturnType<typeof rkvdns>>;
  let unbound: TestResolver;

  beforeAll(async () => {
    redis = await startRedis();
    server = await rkvdns(redis.url);
    unbound = await startShippedUnbound(server.port);
    const [port, metrics] = [await freePort(), await freePort()];
    const cfg = readFileSync(file('config/agent.yaml'), 'utf8')
      .replace('redis://127.0.0.1:6379', redis.url)
      .replace('port: 3430', `port: ${port}`)
      .replace('port: 3431', `port: ${await freePort()}`)
      .replace('stats: 60', 'stats: 0')
      .replace('metrics: None', `metrics: 127.0.0.1:${metrics}`);
    const agent = await startAgent(writeConfig(cfg), [], 2);
    await sendLines(port, LOG, 20);
    await untilTaken(metrics, Math.ceil(LOG.length / 20));
    // SIGTERM flushes whatever is pending.
    expect(await agent.stop()).toBe(0);
  });

  afterAll(async () => {
    await unbound?.stop();
    await server?.stop();
    await redis?.stop();
  });

  const viaUnbound = (...args: string[]) => run('node', [TOTALIZE, ...args, '--server', `127.0.0.1:${unbound.port}`, '--format', 'csv', '--window', '1h']);
  const rows = (out: string) => out.trim().split('\n').slice(1).sort();

  it('totalize through unbound gives exactly the totals computed from the log file, in both modes', async () => {
    const clients = expectedCsv(/^(\S+) \S+ \S+ \[[^\]]*\] "[^"]*" (\d{3}) /, (m) => `${m[1]},${m[2]}`);
    const pages = expectedCsv(/^\S+ \S+ \S+ \[[^\]]*\] "[A-Z]+ ([^ "?]+)/, (m) => m[1]!.split(';')[0]!.toLowerCase().slice(0, 32));
    for (const mode of [[], ['--sharded']]) {
      const c = await viaUnbound('web_client', '--zone', ZONE, ...mode);
      expect(c.code).toBe(0);
      expect(rows(c.stdout)).toEqual(clients);
      const p = await viaUnbound('web_page', '--zone', ZONE, ...mode);
      expect(rows(p.stdout)).toEqual(pages);
    }
  });

  it('the fanout PTR record of zones/unbound.conf leads to the same totals', async () => {
    const direct = await viaUnbound('web_client', '--zone', ZONE);
    const fanout = await viaUnbound('web_client', '--fanout', 'all.totals.example.com');
    expect([direct.code, fanout.code]).toEqual([0, 0]);
    expect(rows(fanout.stdout)).toEqual(expectedCsv(/^(\S+) \S+ \S+ \[[^\]]*\] "[^"]*" (\d{3}) /, (m) => `${m[1]},${m[2]}`));
    expect(fanout.stdout).toBe(direct.stdout);
  });

  it('dig through unbound sees the key list', async () => {
    const out = await dig(unbound.port, '+short', `web_client\\;10\\.0\\.0\\.200*.klen.${ZONE}`, 'TXT');
    expect(out.trim()).toMatch(/^"[1-9]\d*"$/);
  });
});

describe('TTLs through the cache', () => {
  let redis: TestRedis;
  let server: Awaited<ReturnType<typeof rkvdns>>;
  let unbound: TestResolver;

  beforeAll(async () => {
    redis = await startRedis();
    server = await rkvdns(redis.url, ['--min-ttl', '1', '--default-ttl', '2', '--max-ttl', '3']);
    unbound = await startShippedUnbound(server.port);
  });

  afterAll(async () => {
    await unbound?.stop();
    await server?.stop();
    await redis?.stop();
  });

  const ask = async (name: string) => {
    const out = await dig(unbound.port, '+noall', '+answer', `${name}.${ZONE}`, 'TXT');
    return out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const f = l.split(/\s+/);
        return { ttl: Number(f[1]), value: f.slice(4).join(' ') };
      });
  };

  it('a bucket value is served from the cache for its TTL (MAX_TTL), then refreshed', async () => {
    await redis.client.set('t;x;s;100', '5', 'EX', 600);
    const first = await ask('t\\;x\\;s\\;100.get');
    expect(first).toEqual([{ ttl: expect.any(Number), value: '"5"' }]);
    expect(first[0]!.ttl).toBeLessThanOrEqual(3);
    await redis.client.set('t;x;s;100', '6', 'EX', 600);
    expect((await ask('t\\;x\\;s\\;100.get'))[0]!.value).toBe('"5"');
    // The new value comes once the cached one's TTL (at most 3 s) has run out: unbound counts whole seconds, and
    // rkvdns's own flight (5 s) may hold the old read that long too.
    expect(await waitFor(async () => (await ask('t\\;x\\;s\\;100.get'))[0]!.value === '"6"', 15_000, 250)).toBe(true);
  });

  it('a key list carries DEFAULT_TTL: a new bucket shows up once it expires', async () => {
    await redis.client.set('l;a;s;1', '1');
    const before = await ask('l\\;*.keys');
    expect(before).toHaveLength(1);
    expect(before[0]!.ttl).toBeLessThanOrEqual(2);
    await redis.client.set('l;b;s;1', '1');
    expect(await ask('l\\;*.keys')).toHaveLength(1);
    // The cached list stands until its TTL (DEFAULT_TTL, 2 here) has run out; then the new key shows.
    expect(await waitFor(async () => (await ask('l\\;*.keys')).length === 2, 15_000, 250)).toBe(true);
  });
});

describe('the demo', () => {
  it('npm run demo prints the totalize tables and a dig line, and leaves nothing running', async () => {
    // What the shipped rules count in the sample log: requests of 10.0.0.200 answered 200, and of the page /.
    const requests = LOG.map((l) => /^(\S+) \S+ \S+ \[[^\]]*\] "[A-Z]+ ([^ "?]+)[^"]*" (\d{3}) /.exec(l)).filter((m) => m !== null);
    const client200 = requests.filter((m) => m[1] === '10.0.0.200' && m[3] === '200').length;
    const status200 = requests.filter((m) => m[3] === '200').length;
    const rootSizes = LOG.map((l) => /"[A-Z]+ \/[ ?][^"]*" \d{3} (\d+)/.exec(l)).filter((m) => m !== null);
    const rootBytes = rootSizes.reduce((a, m) => a + Number(m[1]), 0);
    const r = await run('npm', ['run', '--silent', 'demo'], undefined, 60_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`sent ${LOG.length} lines`);
    expect(r.stdout).toContain('replaying test/fixtures/access.log over UDP');
    expect(r.stdout).toMatch(/\$ totalize web_client --window 1h --trend[^\n]*\nip\s+status\s+count\s+trend\n/);
    expect(r.stdout).toMatch(new RegExp(`^10\\.0\\.0\\.200\\s+200\\s+${client200}\\s+\\d\\.\\d\\d$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`\\$ totalize web_client --by status[^\\n]*\\nstatus\\s+count\\n[^]*^200\\s+${status200}$`, 'm'));
    // web_bytes sums the response sizes per page: the sum, the lines and their mean.
    const avg = (rootBytes / rootSizes.length).toFixed(2);
    expect(r.stdout).toMatch(
      new RegExp(`\\$ totalize web_bytes[^\\n]*\\nmatched\\s+sum\\s+count\\s+avg\\n[^]*^/\\s+${rootBytes}\\s+${rootSizes.length}\\s+${avg}$`, 'm'),
    );
    expect(r.stdout).toMatch(/\$ dig [^\n]*klen[^\n]*\n"\d+"/);
    const left = await run('pgrep', ['-f', 'rkvdns.demo.example|totalizer-demo-']);
    expect(left.stdout).toBe('');
  }, 60_000);

  it('Ctrl-C stops everything the demo started', async () => {
    const p = await startProcess('node', [file('dist/cli/demo.js')], /totalizer-agent on udp/, { timeoutMs: 30_000 });
    expect(await p.stop('SIGINT')).toBe(130);
    const nothingLeft = async () => (await run('pgrep', ['-f', 'rkvdns.demo.example|totalizer-demo-'])).stdout === '';
    expect(await waitFor(nothingLeft, 5000, 100)).toBe(true);
  }, 40_000);
});
