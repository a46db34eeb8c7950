/**
 * The pages of a listing too large for one answer, answered from the values its scan read: every key once with the
 * value the scan read, no MGET per page, and each answer's TTL shortened by the values' age. Values older than
 * DEFAULT_TTL − MIN_TTL are read again. Expected values come from the keys this test writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, txt } from '../helpers/dns.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';

const N = 3000;
const PAGES = 16;
const NOW = Math.floor(Date.now() / 1000);
// Room for a page (~190 records of ~33 bytes) but not for the whole listing, whose records are refused past 1,000.
const SETTINGS = { MAX_TCP_PAYLOAD: 13_000 };

let redis: TestRedis;
let young: TestRkvdns;
let brief: TestRkvdns;

/** `N` keys `<prefix>;m<i%40>;s<i%5>;<ts>` of value 1 + i%7; returns their sum. */
async function seed(prefix: string): Promise<number> {
  let sum = 0;
  const kv: string[] = [];
  for (let i = 0; i < N; i++) {
    kv.push(`${prefix};m${i % 40};s${i % 5};${NOW - i}`, String(1 + (i % 7)));
    sum += 1 + (i % 7);
  }
  await redis.client.mset(kv);
  return sum;
}

const mgetCalls = async () => Number(/cmdstat_mget:calls=(\d+)/.exec(await redis.client.info('commandstats'))?.[1] ?? 0);

/** The whole listing (refused for size, its scan going on for the pages) and a count that waits for that scan. */
async function scanFor(port: number, prefix: string): Promise<void> {
  expect((await ask(port, `${prefix};*;*;*.shget.${ZONE}`, 'TXT', { tcp: true })).rcode).toBe('SERVFAIL');
  const count = await ask(port, `0of1.${prefix};*.klen.${ZONE}`, 'TXT', { tcp: true });
  expect(txt(count)).toEqual([[String(N)]]);
}

/** Every page over TCP: the values of its records summed, how many records, and each answer's TTLs. */
async function pages(port: number, prefix: string): Promise<{ sum: number; records: number; ttls: number[] }> {
  const answers = await Promise.all(Array.from({ length: PAGES }, (_, i) => ask(port, `${i}of${PAGES}.${prefix};*;*;*.shget.${ZONE}`, 'TXT', { tcp: true })));
  let sum = 0;
  let records = 0;
  const ttls: number[] = [];
  for (const a of answers) {
    expect(a.rcode).toBe('NOERROR');
    for (const r of txt(a)) {
      sum += Number(r[3]);
      records++;
    }
    for (const rr of a.answers ?? []) ttls.push(rr.ttl!);
  }
  return { sum, records, ttls };
}

beforeAll(async () => {
  redis = await startRedis();
  [young, brief] = await Promise.all([
    startRkvdns(redis.url, { ...SETTINGS, DEFAULT_TTL: 60, MIN_TTL: 5 }),
    // Values may be at most a second old here.
    startRkvdns(redis.url, { ...SETTINGS, DEFAULT_TTL: 6, MIN_TTL: 5 }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([young?.stop(), brief?.stop()]);
  await redis?.stop();
});

describe('values read with the scan', () => {
  it("serve the pages that follow: each key once with the value the scan read, no MGET per page, the TTL shortened by the values' age", async () => {
    const sum = await seed('sv');
    const started = Date.now();
    await scanFor(young.port, 'sv');
    const before = await mgetCalls();
    // Changed after the scan read it: the pages still give what the scan read.
    await redis.client.incrby(`sv;m0;s0;${NOW}`, 1000);
    const got = await pages(young.port, 'sv');
    const ended = Date.now();
    expect(got.records).toBe(N);
    expect(got.sum).toBe(sum);
    expect(await mgetCalls()).toBe(before);
    // Read at `started` at the earliest, so at most this many whole seconds old when served, and at least one.
    const oldest = Math.ceil((ended - started) / 1000);
    for (const ttl of got.ttls) {
      expect(ttl).toBeLessThanOrEqual(59);
      expect(ttl).toBeGreaterThanOrEqual(60 - oldest);
    }
  });

  it('older than DEFAULT_TTL − MIN_TTL, they are read again, and the answers keep the whole TTL', async () => {
    const sum = await seed('sw');
    await scanFor(brief.port, 'sw');
    const scanned = Date.now();
    await redis.client.incrby(`sw;m0;s0;${NOW}`, 1000);
    // The values are now more than a second old: past what DEFAULT_TTL 6 less MIN_TTL 5 allows.
    while (Date.now() <= scanned + 1000) await new Promise((r) => setTimeout(r, 50));
    const before = await mgetCalls();
    const got = await pages(brief.port, 'sw');
    expect(got.records).toBe(N);
    expect(got.sum).toBe(sum + 1000);
    expect(await mgetCalls()).toBeGreaterThanOrEqual(before + PAGES);
    expect(new Set(got.ttls)).toEqual(new Set([6]));
  });
});
