/**
 * UDP_ANSWER_CACHE on the batched path: repeats of an answer served from a flight are sent by the addon, with
 * the TTLs aged each second as the flight ages them, counted as if each had run the chain, and never past the
 * flight's end; with ALLOW_QUERY an answer is reused for its own client only; with UDP_ANSWER_CACHE False, RRL or
 * DEBOUNCE every query runs the chain.
 */
import { until } from '../helpers/wait.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQuery, decode, sendUdp, txt } from '../helpers/dns.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { introspect, startRkvdns, ZONE } from '../helpers/rkvdns.js';

let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** stats.<zone> read once (over TCP), as name → value. */
async function stats(port: number): Promise<Record<string, number>> {
  return Object.fromEntries((await introspect(port, 'stats')).map((l) => [l.split(':')[0], Number(l.split(':')[1])])) as Record<string, number>;
}

/** The TTL of the first answer record. */
const ttlOf = (raw: Buffer) => decode(raw).answers![0]!.ttl!;

/** Runs `fn` against an rkvdns on the batched path with `settings`, stopped afterwards; the key `rep` is set. */
async function serving(settings: Record<string, string | number>, fn: (port: number) => Promise<void>): Promise<void> {
  await redis.client.set('rep', 'v', 'EX', 100);
  const server = await startRkvdns(redis.url, { UDP_IO: 'batched', STATS: 0, ...settings });
  try {
    await fn(server.port);
  } finally {
    await server.stop();
  }
}

describe('UDP_ANSWER_CACHE (batched UDP)', () => {
  it('repeats get the flight’s answer, aged by the second, each counted as a query, by its rcode and as marshalled', async () => {
    await serving({}, async (port) => {
      const answers: Buffer[] = [];
      for (let id = 0; id < 40; id++) {
        const raw = await sendUdp(port, buildQuery(`rep.get.${ZONE}`, 'TXT', { id, edns: 1232 }));
        answers.push(raw!);
        await sleep(60);
      }
      expect(answers.map((a) => a.readUInt16BE(0))).toEqual(answers.map((_, id) => id));
      expect(answers.every((a) => txt(decode(a))[0]![0] === 'v')).toBe(true);
      // Over about 3.2 s the TTL drops one second at a time, never rises, and never skips.
      const ttls = answers.map(ttlOf);
      const steps = ttls.slice(1).map((t, i) => ttls[i]! - t);
      expect(steps.every((s) => s === 0 || s === 1)).toBe(true);
      expect(ttls[0]! - ttls.at(-1)!).toBeGreaterThanOrEqual(2);
      // An answer with the TTL of the one before it is that answer byte for byte, ID apart.
      for (let i = 1; i < answers.length; i++) {
        if (steps[i - 1] !== 0) continue;
        const same = Buffer.from(answers[i]!);
        same.writeUInt16BE(i - 1, 0);
        expect(same.equals(answers[i - 1]!)).toBe(true);
      }
      const s = await stats(port);
      expect(s.udp_cache_answers).toBeGreaterThanOrEqual(30);
      expect(s.udp_queries).toBe(40);
      expect(s.noerror).toBe(40);
      // The first query read Redis; every other one was answered from its flight.
      expect(s.marshalled).toBe(39);
      expect(s.udp_cache_entries).toBe(1);
    });
  });

  it('never past the flight: a value changed in Redis is served once the flight ends', async () => {
    await redis.client.set('moving', '1', 'EX', 100);
    await serving({ PREFETCH: 'False' }, async (port) => {
      const ask = async () => txt(decode((await sendUdp(port, buildQuery(`moving.get.${ZONE}`, 'TXT', { id: 7 })))!))[0]![0];
      const flightFrom = Date.now();
      const seen = [await ask()];
      await redis.client.set('moving', '2', 'EX', 100);
      // Within the flight (5 s from the first query, which the server received after flightFrom), every repeat
      // gets the first answer, though Redis holds another value.
      while (Date.now() - flightFrom < 3500) {
        await sleep(500);
        seen.push(await ask());
      }
      expect(seen.length).toBeGreaterThanOrEqual(4);
      expect(new Set(seen)).toEqual(new Set(['1']));
      // The first read Redis; the second was answered from the flight in JavaScript, which handed it to the addon.
      expect((await stats(port)).udp_cache_answers).toBe(seen.length - 2);
      // Then the new value, and never before the flight's end.
      await until('the new value', async () => (await ask()) === '2', 10_000);
      expect(Date.now() - flightFrom).toBeGreaterThanOrEqual(5000);
    });
  }, 15_000);

  it('with PREFETCH, the addon answers the repeat that starts the next lookup too, and gets that lookup’s answer when it comes', async () => {
    await redis.client.set('ahead', '1', 'EX', 100);
    await serving({}, async (port) => {
      const ask = async (id: number) => txt(decode((await sendUdp(port, buildQuery(`ahead.get.${ZONE}`, 'TXT', { id })))!))[0]![0];
      expect(await ask(1)).toBe('1'); // reads Redis
      expect(await ask(2)).toBe('1'); // from the flight, kept by the addon with the flight's prefetch point (its last 1-2 s)
      await redis.client.set('ahead', '2', 'EX', 100);
      await sleep(4200);
      const before = await stats(port);
      expect(await ask(3)).toBe('1'); // past the prefetch point: sent by the addon, and run in JavaScript, which prefetches
      await sleep(300);
      expect(await ask(4)).toBe('2');
      expect(await ask(5)).toBe('2');
      const after = await stats(port);
      expect(after.prefetched).toBe(before.prefetched! + 1);
      // All three answers came from the addon, each counted once; the prefetched answer went to it when it came.
      expect(after.udp_cache_answers).toBe((before.udp_cache_answers ?? 0) + 3);
      expect(after.udp_queries).toBe(before.udp_queries! + 3);
      expect(after.marshalled).toBe(before.marshalled! + 3);
    });
  }, 15_000);

  it.each([
    ['UDP_ANSWER_CACHE False', { UDP_ANSWER_CACHE: 'False' }],
    ['RRL, where the limit is', { RRL_RESPONSES_PER_SECOND: 1000 }],
  ])('off with %s: every repeat runs the chain', async (_, settings) => {
    await serving(settings, async (port) => {
      for (let id = 0; id < 5; id++) await sendUdp(port, buildQuery(`rep.get.${ZONE}`, 'TXT', { id }));
      const s = await stats(port);
      expect(s.udp_queries).toBe(5);
      expect(s.udp_cache_answers ?? 0).toBe(0);
      expect(s.udp_cache_entries).toBe(0);
    });
  });

  it('with ALLOW_QUERY, per client: repeats from an allowed client are reused, the same bytes from another are refused', async () => {
    await serving({ ALLOW_QUERY: '127.0.0.1/32' }, async (port) => {
      const q = buildQuery(`rep.get.${ZONE}`, 'TXT', { id: 1 });
      for (let i = 0; i < 4; i++) expect(decode((await sendUdp(port, q))!).rcode).toBe('NOERROR');
      for (let i = 0; i < 2; i++) expect(decode((await sendUdp(port, q, 3000, '127.0.0.1', '127.0.0.2'))!).rcode).toBe('REFUSED');
      const s = await stats(port);
      expect(s.udp_cache_answers).toBeGreaterThanOrEqual(1);
      expect(s.refused_acl).toBe(2);
      expect(s.udp_cache_entries).toBe(1);
    });
  });

  it('off with DEBOUNCE: a repeat from the same client is still dropped', async () => {
    await serving({ DEBOUNCE: 'True' }, async (port) => {
      const q = buildQuery(`rep.get.${ZONE}`, 'TXT', { id: 1 });
      expect(decode((await sendUdp(port, q))!).rcode).toBe('NOERROR');
      expect(await sendUdp(port, q, 500)).toBeNull();
      expect(await sendUdp(port, q, 500)).toBeNull();
      const s = await stats(port);
      expect(s.dropped_debounce).toBe(2);
      expect(s.udp_cache_entries).toBe(0);
    });
  });
});
