/**
 * The shipped unbound and BIND configurations serve stale answers when rkvdns is gone, and say so (EDE 3): the
 * totals stay what they were, and totalize says they are stale instead of how fresh they are.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { total, type TotalResult } from '../../src/index.js';
import { run } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startResolver, type ResolverName, type TestResolver } from '../helpers/resolvers.js';
import { startRkvdns, type TestRkvdns } from '../helpers/rkvdns.js';
import { waitFor } from '../helpers/wait.js';
import { countsOf, NOW, seedWebClient, WEB_CLIENT_HOUR } from '../helpers/web-client-seed.js';

/** A zone under a real-looking name: resolvers answer the reserved test. themselves. */
const ZONE = 'totals.example.org';
const TOTALIZE = fileURLToPath(new URL('../../dist/cli/totalize.js', import.meta.url));
let redis: TestRedis;
let rkvdns: TestRkvdns;
const resolvers: TestResolver[] = [];

beforeAll(async () => {
  redis = await startRedis();
  await seedWebClient(redis);
  // Answers live a second in the caches, so that they are soon past their TTL.
  rkvdns = await startRkvdns(redis.url, { RKVDNS_FQDN: `ns.${ZONE}`, SOA_CONTACT: `hm.${ZONE}`, DEFAULT_TTL: 1, MAX_TTL: 1, MIN_TTL: 0 }, ['--zone', ZONE]);
  for (const name of ['unbound', 'bind'] as ResolverName[])
    resolvers.push(await startResolver(name, { rkvdnsPort: rkvdns.port, zone: ZONE, minimisation: 'off' }));
});

afterAll(async () => {
  for (const r of resolvers) await r.stop();
  await rkvdns?.stop();
  await redis?.stop();
});

const through = (r: TestResolver) =>
  total(['web_client', null], { zone: ZONE, window: 3600, nameservers: [`127.0.0.1:${r.port}`], now: NOW, timeoutMs: 5000, tries: 1 });

describe('serve-stale in the shipped resolver configurations', () => {
  it('rkvdns gone: the same totals, marked stale, through unbound and BIND', async () => {
    const cli = (r: TestResolver) => run('node', [TOTALIZE, 'web_client', '--server', `127.0.0.1:${r.port}`, '--zone', ZONE, '--timeout', '5000']);
    for (const r of resolvers) {
      // The names the CLI asks for (its own key pattern) into the cache too.
      expect((await cli(r)).stdout.trim().split('\n').at(-1)).toBe('as of ≤ 1 s');
      const fresh = await through(r);
      expect({ resolver: r.name, totals: countsOf(fresh.groups), stale: fresh.freshness.staleAnswers }).toEqual({
        resolver: r.name,
        totals: WEB_CLIENT_HOUR,
        stale: 0,
      });
    }
    await rkvdns.stop();
    for (const r of resolvers) {
      const seen: { last: TotalResult | Error | null } = { last: null };
      const stale = await waitFor(async () => {
        const r2 = await through(r).catch((e: Error) => e);
        seen.last = r2;
        return !(r2 instanceof Error) && r2.freshness.staleAnswers > 0;
      }, 20_000);
      const last = seen.last;
      expect({ resolver: r.name, stale, error: last instanceof Error ? last.message : null }).toEqual({ resolver: r.name, stale: true, error: null });
      expect(countsOf((last as TotalResult).groups)).toEqual(WEB_CLIENT_HOUR);
      const table = await cli(r);
      expect(table.stdout.trim().split('\n').at(-1)).toMatch(/^stale: the resolver served \d+ answer\(s\) past their TTL/);
    }
  }, 90_000);
});
