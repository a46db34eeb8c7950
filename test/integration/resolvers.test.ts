/**
 * The resolver matrix: totalize (keys + get, and sharded) and dig through each of the five caching resolvers
 * operators run, started from Debian's packages with the configurations shipped in zones/. Two passes: qname
 * minimisation off against rkvdns's defaults, and each resolver's own default against CONFORMANCE True. The
 * totalizer has more than 100 bucket keys (BIND refuses RRsets over 100 records, PowerDNS Recursor over 256),
 * and its matched values hold '.', ',' and ';'. Totals must be exactly those computed from the keys written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { total } from '../../src/index.js';
import { dig } from '../helpers/dns.js';
import { run } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { RESOLVERS, shipped, startResolver, type ResolverName, type ResolverOptions, type TestResolver } from '../helpers/resolvers.js';
import { startRkvdns, type TestRkvdns } from '../helpers/rkvdns.js';
import { freePort } from '../helpers/ports.js';

const TOTALIZE = fileURLToPath(new URL('../../dist/cli/totalize.js', import.meta.url));
// Not the shipped files' zone: each file is used as an operator edits it, its EDIT lines rewritten for this zone.
const ZONE = 'totals.example.org';
const NOW = Math.floor(Date.now() / 1000);
const SETTINGS = { RKVDNS_FQDN: `ns1.${ZONE}`, SOA_CONTACT: 'hostmaster.example.org', STATS: 0 };
const RESOURCES = 40;
const SOURCES = 2;
const BUCKETS = 4;
const KEYS = RESOURCES * SOURCES * BUCKETS;

const PASSES = [
  { label: 'qname minimisation off, rkvdns defaults', minimisation: 'off', conformance: false },
  { label: "each resolver's default minimisation, CONFORMANCE True", minimisation: 'default', conformance: true },
] as const;

/** The matched value of resource g: an address, a status and a method, so it holds '.', ',' and ';'. */
const matchedOf = (g: number) => `10.0.${g % 8}.${g},${g % 3 === 0 ? 404 : 200};get`;
const keyOf = (g: number, s: number, b: number) => `rm;${matchedOf(g)};web${s};${NOW - 100 - b * 600}`;
const valueOf = (g: number, s: number, b: number) => 1 + ((g * 7 + s * 3 + b) % 9);

/** Zone-file form of one label: '.', ';', '\' and '"' escaped. */
const presentation = (label: string) => label.replace(/[.;\\"]/g, (c) => `\\${c}`);

const expected: Record<string, number> = {};
for (let g = 0; g < RESOURCES; g++)
  for (let s = 0; s < SOURCES; s++) for (let b = 0; b < BUCKETS; b++) expected[matchedOf(g)] = (expected[matchedOf(g)] ?? 0) + valueOf(g, s, b);

/** The totalize command line through one of the started resolvers. */
const totalizeVia = (resolver: TestResolver, prefix: string, ...args: string[]) =>
  run('node', [TOTALIZE, prefix, '--window', '1h', '--server', `127.0.0.1:${resolver.port}`, '--zone', ZONE, ...args], undefined, 60_000);

const countsOf = (groups: { group: string; count?: number }[]) => Object.fromEntries(groups.map((g) => [g.group, g.count]));

let redis: TestRedis;
const servers: TestRkvdns[] = [];
/** rkvdns serving the shipped configurations' zone. */
const serve = (redisUrl: string, settings: Record<string, string | number | boolean> = {}) =>
  startRkvdns(redisUrl, { ...SETTINGS, ...settings }, ['--zone', ZONE]);
const resolvers = new Map<string, TestResolver>();
const resolverOf = (pass: (typeof PASSES)[number], name: ResolverName) => resolvers.get(`${pass.minimisation}/${name}`)!;

beforeAll(async () => {
  redis = await startRedis();
  const pipe = redis.client.pipeline();
  for (let g = 0; g < RESOURCES; g++)
    for (let s = 0; s < SOURCES; s++) for (let b = 0; b < BUCKETS; b++) pipe.set(keyOf(g, s, b), String(valueOf(g, s, b)), 'EX', 86400);
  pipe.set(`one;10.0.1.1,200;web0;${NOW - 100}`, '7', 'EX', 86400);
  await pipe.exec();
  // Two more servers for the errors: one that may list only 100 keys, one whose Redis is not there.
  const [plain, conforming, capped, orphan] = await Promise.all([
    serve(redis.url),
    serve(redis.url, { CONFORMANCE: true }),
    serve(redis.url, { MAX_KEYS: 100 }),
    serve(`redis://127.0.0.1:${await freePort()}`),
  ]);
  servers.push(plain, conforming, capped, orphan);
  // Each is kept as soon as it runs, so afterAll stops it even when another fails to start.
  const start = async (key: string, name: ResolverName, o: ResolverOptions) => void resolvers.set(key, await startResolver(name, o));
  await Promise.all([
    ...PASSES.flatMap((pass) =>
      RESOLVERS.map((name) =>
        start(`${pass.minimisation}/${name}`, name, { rkvdnsPort: (pass.conformance ? conforming : plain).port, zone: ZONE, minimisation: pass.minimisation }),
      ),
    ),
    start('capped', 'bind', { rkvdnsPort: capped.port, zone: ZONE, minimisation: 'off' }),
    start('orphan', 'bind', { rkvdnsPort: orphan.port, zone: ZONE, minimisation: 'off' }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([...resolvers.values()].map((r) => r.stop()));
  await Promise.all(servers.map((s) => s.stop()));
  await redis?.stop();
});

describe('the shipped configurations', () => {
  it('named-checkconf and unbound-checkconf accept zones/named.conf and zones/unbound.conf; dnsmasq --test accepts zones/dnsmasq.conf', async () => {
    const named = await run('named-checkconf', [shipped('named.conf')]);
    expect(named.stderr + named.stdout).toBe('');
    expect(named.code).toBe(0);
    const unbound = await run('unbound-checkconf', [shipped('unbound.conf')]);
    expect(unbound.stdout).toMatch(/no errors/);
    expect(unbound.code).toBe(0);
    const dnsmasq = await run('dnsmasq', ['--test', '-C', shipped('dnsmasq.conf')]);
    expect(dnsmasq.stderr + dnsmasq.stdout).toMatch(/syntax check OK/);
    expect(dnsmasq.code).toBe(0);
  });

  it('rkvdns directly gives the totals computed from the keys written (the reference for every resolver)', async () => {
    for (const sharded of [false, true]) {
      const r = await total(['rm', null, null], { zone: ZONE, window: 3600, nameservers: [`127.0.0.1:${servers[0]!.port}`], sharded, now: NOW });
      expect(countsOf(r.groups)).toEqual(expected);
      expect(r.diagnostics.keysListed).toBe(KEYS);
    }
  });
});

for (const pass of PASSES) {
  describe(pass.label, () => {
    for (const name of RESOLVERS) {
      describe(name, () => {
        it(`totalize over ${KEYS} bucket keys, keys + get and sharded: exact totals, every bucket read`, async () => {
          for (const sharded of [false, true]) {
            const r = await total(['rm', null, null], {
              zone: ZONE,
              window: 3600,
              nameservers: [`127.0.0.1:${resolverOf(pass, name).port}`],
              sharded,
              now: NOW,
            });
            expect(countsOf(r.groups), `${name}, ${sharded ? 'sharded' : 'keys + get'}`).toEqual(expected);
            expect(r.diagnostics.keysListed).toBe(KEYS);
            expect(r.diagnostics.bucketsFailed).toEqual([]);
          }
        });

        it('totalize over a totalizer of one bucket key, both modes, as the command line prints it', async () => {
          for (const mode of [[], ['--sharded']]) {
            const out = await totalizeVia(resolverOf(pass, name), 'one', '--format', 'csv', ...mode);
            expect(out.stderr).toBe('');
            expect(out.stdout.trim().split('\n')).toEqual(['matched.1,matched.2,count', '10.0.1.1,200,7']);
          }
        });

        it('dig: one bucket value by its escaped name, and a listing of 40 keys whose labels hold . , ; and *', async () => {
          const port = resolverOf(pass, name).port;
          const key = keyOf(9, 1, 2);
          const value = await dig(port, '+short', 'TXT', `${presentation(key)}.get.${ZONE}`);
          expect(value.trim()).toBe(`"${valueOf(9, 1, 2)}"`);
          const listing = await dig(port, '+tcp', '+short', 'TXT', `${presentation('rm;10.0.1.*')}.keys.${ZONE}`);
          const listed = listing
            .trim()
            .split('\n')
            .map((l) => l.replace(/^"|"$/g, ''))
            .sort();
          const want: string[] = [];
          for (let g = 1; g < RESOURCES; g += 8) for (let s = 0; s < SOURCES; s++) for (let b = 0; b < BUCKETS; b++) want.push(keyOf(g, s, b));
          expect(listed).toEqual(want.sort());
        });
      });
    }
  });
}

describe('a listing that cannot be had, through BIND: the error says what was tried and why', () => {
  const totalize = (resolver: string, ...args: string[]) => totalizeVia(resolvers.get(resolver)!, 'rm', ...args);

  it('a pattern over MAX_KEYS: the server says so through the count, and totalize names the setting', async () => {
    expect((await dig(resolvers.get('capped')!.port, '+short', 'TXT', `0of1.rm\\;*.klen.${ZONE}`)).trim()).toBe('">100"');
    for (const mode of [[], ['--sharded']]) {
      const out = await totalize('capped', ...mode);
      expect(out.code).toBe(1);
      expect(out.stdout).toBe('');
      expect(out.stderr).toMatch(/^totalize: listing rm;\*;\*;\*\.(keys|shget)\.totals\.example\.org failed: SERVFAIL\n/);
      expect(out.stderr).toMatch(/tried: the whole listing: SERVFAIL; the count 0of1\.rm;\*;\*;\*\.klen\.totals\.example\.org: more than MAX_KEYS \(100\)/);
      expect(out.stderr).toMatch(/likely causes: the pattern matches more than the server's MAX_KEYS \(100\) keys: raise MAX_KEYS/);
    }
  });

  it('rkvdns without its Redis: every narrower listing fails too, so the cause named is not the size', async () => {
    const out = await totalize('orphan');
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(
      /tried: the whole listing: SERVFAIL; the count 0of1\.rm;\*;\*;\*\.klen\.totals\.example\.org: SERVFAIL \(no paging\); .*and so did all 257 narrower globs/,
    );
    // BIND gets the zone's SOA from rkvdns (no Redis needed): rkvdns, not the path to it, is named first.
    expect(out.stderr).toMatch(
      /likely causes: every narrower glob was refused too, so not for their size: rkvdns cannot read Redis[^\n]*, or the resolver cannot reach rkvdns/,
    );
  });
});
