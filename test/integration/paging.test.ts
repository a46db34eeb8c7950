/**
 * Totals over listings far larger than one DNS message: a million bucket keys paged by partitions, through
 * rkvdns directly and through unbound; and the fallback that splits the glob against a server without
 * partitions. Every expected total is computed from the same generator that wrote the keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { total } from '../../src/index.js';
import { ask, txt } from '../helpers/dns.js';
import { run } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { counter, startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';
import { serverBlock, startUnbound, stubZone, type TestUnbound } from '../helpers/unbound.js';
import { expectedTotals } from '../helpers/oracle.js';

const TOTALIZE = fileURLToPath(new URL('../../dist/cli/totalize.js', import.meta.url));
const NOW = Math.floor(Date.now() / 1000);
const SOA = { RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test' };
const BIG = 1_000_000;
const MID = 60_000;
const SMALL = 6_000;

let redis: TestRedis;
/** The server without partitions gets its own small Redis: each of its split queries scans everything. */
let smallRedis: TestRedis;
let paging: TestRkvdns;
let upstreamLike: TestRkvdns;
let unbound: TestUnbound;

/**
 * Writes `n` bucket keys `<prefix>;m<i%40>;s<i%5>;<ts>` with value 1 + i%7, all inside a window of
 * 2n seconds, and returns the expected total per matched group. The writing runs inside Redis (Lua),
 * so a million keys take a second, not a million round trips.
 */
async function seed(redis: TestRedis, prefix: string, n: number): Promise<Record<string, number>> {
  const lua = `for i = tonumber(ARGV[2]), tonumber(ARGV[3]) do
    redis.call('SET', ARGV[1] .. ';m' .. (i % 40) .. ';s' .. (i % 5) .. ';' .. (tonumber(ARGV[4]) - i), 1 + i % 7, 'EX', 86400)
  end return 1`;
  for (let from = 0; from < n; from += 100_000) await redis.client.eval(lua, 0, prefix, from, Math.min(n, from + 100_000) - 1, NOW);
  const expected: Record<string, number> = {};
  for (let i = 0; i < n; i++) expected[`m${i % 40}`] = (expected[`m${i % 40}`] ?? 0) + 1 + (i % 7);
  return expected;
}

const countsOf = (groups: { group: string; count?: number }[]) => Object.fromEntries(groups.map((g) => [g.group, g.count]));
let bigExpected: Record<string, number>;
let smallExpected: Record<string, number>;

beforeAll(async () => {
  [redis, smallRedis] = await Promise.all([startRedis(), startRedis()]);
  bigExpected = await seed(redis, 'big', BIG);
  await seed(redis, 'mid', MID);
  smallExpected = await seed(redis, 'small', SMALL);
  await seed(smallRedis, 'small', SMALL);
  [paging, upstreamLike] = await Promise.all([
    // MAX_KEYS as shipped: a million-key totalizer needs no setting changed.
    startRkvdns(redis.url, SOA),
    startRkvdns(smallRedis.url, { ...SOA, PARTITIONED_LISTINGS: false }),
  ]);
  unbound = await startUnbound(
    serverBlock(['msg-cache-size: 64m', 'rrset-cache-size: 128m', 'incoming-num-tcp: 128', 'outgoing-num-tcp: 128']) + stubZone(ZONE, paging.port),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all([paging?.stop(), upstreamLike?.stop(), unbound?.stop()]);
  await Promise.all([redis?.stop(), smallRedis?.stop()]);
});

describe('a listing larger than one DNS answer', () => {
  it('the upstream forms are unchanged: the whole listing is refused for size; a page is answered, or refused without partitions', async () => {
    const whole = await ask(paging.port, `small;*;*;*.shget.${ZONE}`, 'TXT', { tcp: true });
    expect(whole.rcode).toBe('SERVFAIL');
    expect(await counter(paging.port, 'error_toolarge')).toBeGreaterThan(0);
    const pages = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((i) => ask(paging.port, `${i}of8.small;*;*;*.shget.${ZONE}`, 'TXT', { tcp: true })));
    expect(pages.reduce((n, p) => n + txt(p).length, 0)).toBe(SMALL);
    expect(Math.max(...pages.map((p) => p.raw.length))).toBeLessThanOrEqual(60_000);
    const count = await ask(paging.port, `3of8.small;*.klen.${ZONE}`, 'TXT');
    expect(Number(txt(count)[0]![0])).toBe(txt(pages[3]!).length);
    expect((await ask(upstreamLike.port, `0of8.small;*;*;*.shget.${ZONE}`, 'TXT', { tcp: true })).rcode).toBe('FORMERR');
  });

  it('a million bucket keys, sharded, paged through rkvdns directly: exact totals, no answer over MAX_TCP_PAYLOAD, pages pipelined on a few connections', async () => {
    const lines: string[] = [];
    const connectionsBefore = await counter(paging.port, 'tcp_accepted');
    const tcpBefore = await counter(paging.port, 'tcp_queries');
    const r = await total(['big', null], {
      zone: ZONE,
      window: 3 * BIG,
      nameservers: [`127.0.0.1:${paging.port}`],
      sharded: true,
      now: NOW,
      debug: (l) => lines.push(l),
    });
    // Over a thousand pages, each over TCP, on a few connections: four at a time, made again where the server closed
    // one that idled while it scanned (one a page would be over a thousand).
    expect((await counter(paging.port, 'tcp_accepted')) - connectionsBefore).toBeLessThanOrEqual(16);
    expect(countsOf(r.groups)).toEqual(bigExpected);
    expect(r.diagnostics.keysListed).toBe(BIG);
    expect(lines.some((l) => /1000000 keys, too many for one answer; paging in \d+ partitions/.test(l))).toBe(true);
    // Over-limit answers are refused whole (SERVFAIL), never cut: nothing was sent partial.
    expect(await counter(paging.port, 'partial_tcp')).toBe(0);
    const pages = Number(/paging in (\d+) partitions/.exec(lines.join('\n'))![1]);
    expect((await counter(paging.port, 'tcp_queries')) - tcpBefore).toBeGreaterThanOrEqual(pages);
  }, 240_000);

  it('a million bucket keys, sharded, through unbound: the same totals', async () => {
    const r = await total(['big', null], { zone: ZONE, window: 3 * BIG, nameservers: [`127.0.0.1:${unbound.port}`], sharded: true, now: NOW });
    expect(countsOf(r.groups)).toEqual(bigExpected);
    expect(r.diagnostics.keysListed).toBe(BIG);
  }, 240_000);

  it('keys+get mode pages the key list the same way, and agrees with sharded mode', async () => {
    // A narrow window: every key is listed, but only the newest buckets of each resource are fetched.
    const window = 900;
    const keysGet = await total(['mid', null], { zone: ZONE, window, nameservers: [`127.0.0.1:${unbound.port}`], now: NOW });
    const sharded = await total(['mid', null], { zone: ZONE, window, nameservers: [`127.0.0.1:${paging.port}`], sharded: true, now: NOW });
    // What the seed wrote, totalled by the rule itself: each resource's buckets are 40 s apart (i ≡ r mod 40).
    const written = Array.from({ length: MID }, (_, i) => ({ key: `mid;m${i % 40};s${i % 5};${NOW - i}`, value: 1 + (i % 7) }));
    const want = expectedTotals(written, { window, now: NOW, groupFields: [1] });
    expect(keysGet.diagnostics.keysListed).toBe(MID);
    expect(countsOf(keysGet.groups)).toEqual(want);
    expect(countsOf(sharded.groups)).toEqual(want);
    expect(keysGet.diagnostics.queries).toBeLessThan(MID / 10);
  }, 120_000);

  it('against a server without partitions, totalize splits the glob by the next character and says so in --debug', async () => {
    const out = await run(
      'node',
      [
        TOTALIZE,
        'small',
        '--window',
        String(3 * SMALL),
        '--sharded',
        '--debug',
        '--format',
        'csv',
        '--server',
        `127.0.0.1:${upstreamLike.port}`,
        '--zone',
        ZONE,
      ],
      undefined,
      120_000,
    );
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/does not page listings .*splitting small;\*;\*;\* by the next character and fetching values with GET/);
    // Seconds of GETs, but stdout and stderr are pipes here: no progress line is drawn into them.
    expect(out.stderr).not.toMatch(/reading values: \d/);
    const rows = out.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','));
    expect(Object.fromEntries(rows.map(([g, c]) => [g, Number(c)]))).toEqual(smallExpected);
  }, 120_000);
});
