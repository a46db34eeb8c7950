/**
 * A listing larger than one DNS answer, paged through each of the five caching resolvers: every resolver asks each
 * page over UDP first (answered with the records that fit, TC=1) and again over TCP, and the totals must come out
 * exactly as written. The resolvers' shipped configurations are used, as operators run them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { total } from '../../src/index.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { RESOLVERS, startResolver, type TestResolver } from '../helpers/resolvers.js';
import { startRkvdns, type TestRkvdns } from '../helpers/rkvdns.js';

const ZONE = 'totals.example.org';
const NOW = Math.floor(Date.now() / 1000);
/** 3,000 resources on two servers in two buckets: 12,000 keys, ten pages or so of a listing. */
const RESOURCES = 3000;
const keyOf = (g: number, s: number, b: number) => `pg;10.${g >> 8}.${g & 255}.1,${200 + (g % 3)};web${s};${NOW - 100 - b * 600}`;
const valueOf = (g: number, s: number, b: number) => 1 + ((g + s * 5 + b * 3) % 11);

let redis: TestRedis;
let server: TestRkvdns;
const resolvers = new Map<string, TestResolver>();
const expected: Record<string, number> = {};

beforeAll(async () => {
  redis = await startRedis();
  const pipe = redis.client.pipeline();
  for (let g = 0; g < RESOURCES; g++)
    for (let s = 0; s < 2; s++)
      for (let b = 0; b < 2; b++) {
        pipe.set(keyOf(g, s, b), String(valueOf(g, s, b)), 'EX', 86400);
        const group = keyOf(g, s, b).split(';')[1]!;
        expected[group] = (expected[group] ?? 0) + valueOf(g, s, b);
      }
  await pipe.exec();
  server = await startRkvdns(redis.url, { RKVDNS_FQDN: `ns1.${ZONE}`, SOA_CONTACT: 'hostmaster.example.org', STATS: 0 }, ['--zone', ZONE]);
  await Promise.all(
    RESOLVERS.map(async (name) => void resolvers.set(name, await startResolver(name, { rkvdnsPort: server.port, zone: ZONE, minimisation: 'off' }))),
  );
}, 60_000);

afterAll(async () => {
  await Promise.all([...resolvers.values()].map((r) => r.stop()));
  await server?.stop();
  await redis?.stop();
});

describe('a paged listing through each resolver', () => {
  for (const name of RESOLVERS)
    it(`${name}: totalize --sharded over ${RESOURCES * 4} keys in pages gives the totals written`, async () => {
      const r = await total(['pg', null], { zone: ZONE, window: 3600, nameservers: [`127.0.0.1:${resolvers.get(name)!.port}`], sharded: true, now: NOW });
      expect(r.diagnostics.keysListed).toBe(RESOURCES * 4);
      // More queries than a probe and one answer: the listing was paged.
      expect(r.diagnostics.queries).toBeGreaterThan(5);
      expect(Object.fromEntries(r.groups.map((g) => [g.group, g.count]))).toEqual(expected);
    });
});
