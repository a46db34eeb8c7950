/**
 * totalize through each of the five caching resolvers (Debian's packages, the configurations shipped in
 * zones/), against rkvdns directly: DNS queries, wall time and whether the total is exact, for 10,000 bucket
 * keys (both modes, cold cache then warm) and 100,000 (both modes, cold); BIND and PowerDNS Recursor also with
 * their records-per-RRset limit raised. Each resolver starts fresh, so "cold" is an empty cache. Runs with the
 * tests' own harness (test/helpers).
 *   npm run bench:resolvers
 */
import { total } from '../src/index.js';
import { fmt, seedBuckets, table } from './lib.mjs';
import { startRedis } from '../test/helpers/redis.js';
import { RESOLVERS, SHIPPED_ZONE, resolverVersion, startResolver, type ResolverName } from '../test/helpers/resolvers.js';
import { startRkvdns } from '../test/helpers/rkvdns.js';

const ZONE = SHIPPED_ZONE;
const NOW = 1_747_600_000;
const SOURCES = 4;
const BUCKETS = 10;
const SIZES = [10_000, 100_000];

/** The five as shipped, and the two record-limited ones again with the limit raised as zones/ describes. */
const VARIANTS: { name: ResolverName; label: string; extra?: string[] }[] = [
  ...RESOLVERS.map((name) => ({ name, label: name })),
  { name: 'bind', label: 'bind, max-records-per-type 1000', extra: ['max-records-per-type 1000;'] },
  { name: 'pdns-recursor', label: 'pdns-recursor, max-rrset-size=1000', extra: ['max-rrset-size=1000'] },
];

interface Row {
  keys: string;
  mode: string;
  via: string;
  queries: string;
  'wall ms': string;
  total: string;
}

async function measure(prefix: string, port: number, sharded: boolean, expected: number): Promise<Pick<Row, 'queries' | 'wall ms' | 'total'>> {
  const t0 = performance.now();
  try {
    const r = await total([prefix, null], { zone: ZONE, window: 3600 * 2, nameservers: [`127.0.0.1:${port}`], sharded, now: NOW, timeoutMs: 5000 });
    const sum = r.groups.reduce((a, g) => a + g.value, 0);
    return { queries: fmt.int(r.diagnostics.queries), 'wall ms': fmt.int(performance.now() - t0), total: sum === expected ? 'exact' : `${sum} ≠ ${expected}` };
  } catch (e) {
    return { queries: '–', 'wall ms': fmt.int(performance.now() - t0), total: `failed: ${(e as Error).message.split('\n')[0]!.slice(0, 80)}` };
  }
}

const redis = await startRedis();
const server = await startRkvdns(redis.url, { RKVDNS_FQDN: 'ns1.rkvdns.example.com', SOA_CONTACT: 'hostmaster.example.com' }, ['--zone', ZONE]);
const rows: Row[] = [];
try {
  for (const keys of SIZES) {
    const prefix = `t${keys}`;
    const expected = await seedBuckets(redis.client, prefix, keys, NOW, { sources: SOURCES, buckets: BUCKETS });
    const runs = keys <= 10_000 ? ['cold', 'warm'] : ['cold'];
    for (const sharded of [false, true]) {
      const mode = sharded ? 'sharded (shget)' : 'keys + get';
      rows.push({ keys: fmt.int(keys), mode, via: 'rkvdns directly', ...(await measure(prefix, server.port, sharded, expected)) });
      for (const v of VARIANTS) {
        const resolver = await startResolver(v.name, { rkvdnsPort: server.port, minimisation: 'off', ...(v.extra ? { extra: v.extra } : {}) });
        try {
          for (const run of runs)
            rows.push({ keys: fmt.int(keys), mode, via: `${v.label} (${run})`, ...(await measure(prefix, resolver.port, sharded, expected)) });
        } finally {
          await resolver.stop();
        }
      }
    }
  }
} finally {
  await server.stop();
  await redis.stop();
}

const versions = await Promise.all(RESOLVERS.map(async (n) => `${n} ${await resolverVersion(n)}`));
table(`totalize through caching resolvers (${versions.join(', ')}), ${SOURCES} sources × ${BUCKETS} buckets per group, window 2 h`, rows);
process.exit(0);
