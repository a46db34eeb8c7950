/** totalize when the path to rkvdns is broken, and fanning out over several zones through a real unbound. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { total } from '../../src/index.js';
import { run } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';
import { loopbackServer, serverBlock, startUnbound, stubZone, type TestUnbound } from '../helpers/unbound.js';
import { freePort } from '../helpers/ports.js';
import { countsOf, NOW, seedWebClient, WEB_CLIENT_HOUR as expected } from '../helpers/web-client-seed.js';

const TOTALIZE = fileURLToPath(new URL('../../dist/cli/totalize.js', import.meta.url));
let redis: TestRedis;
let server: TestRkvdns;

beforeAll(async () => {
  redis = await startRedis();
  await seedWebClient(redis);
  server = await startRkvdns(redis.url, { RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test' });
});

afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

describe('when the path to rkvdns is broken', () => {
  it('rkvdns not running: one refused description, listing and SOA each, no retries, the cause named', async () => {
    const closed = await freePort();
    const r = await run('node', [TOTALIZE, 'web_client', '--server', `127.0.0.1:${closed}`, '--zone', ZONE, '--debug']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/failed: nothing answers at 127\.0\.0\.1:\d+ \(connection refused\)\n[^]*likely causes: nothing listens there/);
    // Each asked once: a refused port is not asked again.
    expect(r.stderr.match(/^debug: .* via 127\.0\.0\.1:\d+: nothing answers/gm)).toHaveLength(3);
  });

  it('through unbound that will not ask a loopback address (its default), the resolver is named first', async () => {
    const noLoopback = await startUnbound(
      loopbackServer('{{PORT}}', '{{DIR}}', ['module-config: "iterator"', 'qname-minimisation: no', 'local-zone: "test." nodefault']) +
        stubZone(ZONE, server.port),
    );
    try {
      const r = await run('node', [TOTALIZE, 'web_client', '--server', `127.0.0.1:${noLoopback.port}`, '--zone', ZONE]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /likely causes: [^\n]*so not for their size: the resolver cannot reach rkvdns or rejects its answers \(unbound refuses to ask a loopback address/,
      );
    } finally {
      await noLoopback.stop();
    }
  }, 60_000);
});

describe('fanout through a real unbound', () => {
  let redis2: TestRedis;
  let zoneB: TestRkvdns;
  let unbound: TestUnbound;

  beforeAll(async () => {
    redis2 = await startRedis();
    await redis2.client.set(`web_client;10.0.0.224,200;athena;${NOW - 60}`, '100', 'EX', 3600);
    await redis2.client.set(`web_client;10.0.9.9,500;athena;${NOW - 60}`, '8', 'EX', 3600);
    zoneB = await startRkvdns(redis2.url, { RKVDNS_FQDN: 'ns.site-b.test', SOA_CONTACT: 'hm.site-b.test' }, ['--zone', 'site-b.test']);
    unbound = await startUnbound(
      serverBlock([
        'local-zone: "fanout.test." static',
        'local-data: "sites.fanout.test. 300 IN PTR rkvdns.test."',
        'local-data: "sites.fanout.test. 300 IN PTR site-b.test."',
        'domain-insecure: "rkvdns.test"',
        'domain-insecure: "site-b.test"',
      ]) +
        stubZone('rkvdns.test', server.port) +
        stubZone('site-b.test', zoneB.port),
    );
  });

  afterAll(async () => {
    await unbound?.stop();
    await zoneB?.stop();
    await redis2?.stop();
  });

  it('totals every zone the PTR records list and adds them', async () => {
    for (const sharded of [false, true]) {
      const r = await total(['web_client', null], {
        zone: 'unused',
        fanout: 'sites.fanout.test',
        window: 3600,
        nameservers: [`127.0.0.1:${unbound.port}`],
        now: NOW,
        sharded,
      });
      expect(r.diagnostics.zones).toEqual(['rkvdns.test', 'site-b.test']);
      expect(countsOf(r.groups)).toEqual({
        ...expected,
        '10.0.0.224,200': expected['10.0.0.224,200'] + 100,
        '10.0.9.9,500': 8,
      });
    }
  });

  it('a name without PTR records is used as the zone itself (CLI)', async () => {
    const r = await run('node', [TOTALIZE, 'web_client', '--fanout', 'site-b.test', '--server', `127.0.0.1:${unbound.port}`, '--format', 'csv']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').slice(1).sort()).toEqual(['10.0.0.224,200,100', '10.0.9.9,500,8']);
  });
});
