/** totalize against keys written to a real Redis with known timestamps, served by a real rkvdns. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { total } from '../../src/index.js';
import { run } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';
import { expectedTotals, type Written } from '../helpers/oracle.js';
import { countsOf, NOW, seedWebClient, WEB_CLIENT_HOUR as expected } from '../helpers/web-client-seed.js';

const TOTALIZE = fileURLToPath(new URL('../../dist/cli/totalize.js', import.meta.url));
let redis: TestRedis;
let server: TestRkvdns;
let ns: string;

beforeAll(async () => {
  redis = await startRedis();
  await seedWebClient(redis);
  server = await startRkvdns(redis.url, { RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test' });
  ns = `127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

describe('total() library', () => {
  it('sums per group over the window, pro-rating the bucket that straddles the floor, both modes', async () => {
    for (const sharded of [false, true]) {
      const r = await total(['web_client', null], { zone: ZONE, window: 3600, nameservers: [ns], sharded, now: NOW });
      expect(countsOf(r.groups)).toEqual(expected);
      expect(r.diagnostics.keysListed).toBe(8);
      expect(r.diagnostics.bucketsFailed).toEqual([]);
      // Both modes ask for the description and for config (DEFAULT_TTL, for the freshness line). keys+get lists
      // once, reads the 4 open buckets (each resource's newest; 4 distinct start times) through 4 shget listings
      // and the 3 closed ones in the window with a GET each; sharded lists once with the values.
      expect(r.diagnostics.queries).toBe(sharded ? 2 + 1 : 2 + 1 + 4 + 3);
    }
  });

  it('groups by source with literal and ignore fields', async () => {
    const r = await total(['web_client', { kind: 'ignore' }, null], { zone: ZONE, window: 3600, nameservers: [ns], now: NOW });
    expect(countsOf(r.groups)).toEqual({ sophia: Math.round(5 + 7 + 3 + 6 + 4), flame: 3 });
    const only = await total(['web_client', null, 'flame'], { zone: ZONE, window: 3600, nameservers: [ns], now: NOW });
    expect(countsOf(only.groups)).toEqual({ '10.0.0.224,200': 2, '10.0.0.9,404': 1 });
  });

  it('randomized data (many resources, sources, irregular buckets): both modes give the totals computed from what was written', async () => {
    let seedv = 7;
    const rand = () => (seedv = (seedv * 1103515245 + 12345) % 2147483648) / 2147483648;
    const written: Written[] = [];
    const pipe = redis.client.pipeline();
    for (let r = 0; r < 40; r++)
      for (const src of ['a', 'b', 'c']) {
        let t = NOW - Math.floor(rand() * 300);
        for (let b = 0; b < 6; b++) {
          if (rand() < 0.8) {
            const w = { key: `rnd;m${r % 17},${r % 3};${src};${t}`, value: 1 + Math.floor(rand() * 50) };
            written.push(w);
            pipe.set(w.key, String(w.value), 'EX', 86400);
          }
          t -= 300 + Math.floor(rand() * 900);
        }
      }
    await pipe.exec();
    for (const window of [600, 1800, 3600, 7200]) {
      const want = expectedTotals(written, { window, now: NOW, groupFields: [1] });
      expect(Object.keys(want).length).toBeGreaterThan(10);
      for (const sharded of [false, true]) {
        const r = await total(['rnd', null], { zone: ZONE, window, nameservers: [ns], now: NOW, sharded });
        expect({ window, sharded, totals: countsOf(r.groups) }).toEqual({ window, sharded, totals: want });
      }
      // By source (a break on the third field), the same data.
      const bySource = await total(['rnd', { kind: 'ignore' }, null], { zone: ZONE, window, nameservers: [ns], now: NOW, sharded: true });
      expect(countsOf(bySource.groups)).toEqual(expectedTotals(written, { window, now: NOW, groupFields: [2] }));
    }
  });

  it('trend and per-group bucket series', async () => {
    const r = await total(['web_client', null], { zone: ZONE, window: 3600, nameservers: [ns], now: NOW, trend: true, sparkBins: 4 });
    const g = r.groups.find((x) => x.group === '10.0.0.224,200')!;
    // Recent quarter (900 s): the buckets 100 and 200 s old in full, and the share of the 1000-s-old sophia
    // bucket that lies inside: it spans [now-1000, now-100), 800 of its 900 s.
    const recent = 5 + 2 + 7 * (800 / 900);
    expect(g.trend).toBeCloseTo(Math.min(9.99, recent / ((5 + 7 + 3 + 6 + 2) * 0.25)), 2);
    expect(g.spark!.reduce((a, v) => a + v, 0)).toBeCloseTo(23, 6);
    // 900-s columns, newest right; each bucket spread over the time it covers (its start to the next's):
    //  10 over [-4000, -3000): 600 s in column 0 → 6;   3 over [-3000, -1000): 300, 900, 800 s in columns 0, 1, 2;
    //  7 over [-1000, -100): 100 s in column 2, 800 in 3;   5 over [-100, 0) and flame's 2 over [-200, 0): column 3.
    const columns = [6 + 3 * (300 / 2000), 3 * (900 / 2000), 3 * (800 / 2000) + 7 * (100 / 900), 7 * (800 / 900) + 5 + 2];
    expect(g.spark!.map((v) => Math.round(v * 1000) / 1000)).toEqual(columns.map((v) => Math.round(v * 1000) / 1000));
  });

  it('a listing that fails is an error naming the query; an empty listing is an empty total', async () => {
    await expect(total(['web_client', null], { zone: 'not-served.example', window: 60, nameservers: [ns], tries: 1 })).rejects.toThrow(
      /listing web_client;\*;\*\.keys\.not-served\.example failed: NXDOMAIN/,
    );
    const empty = await total(['nothing', null], { zone: ZONE, window: 60, nameservers: [ns] });
    expect(empty.groups).toEqual([]);
    await expect(total(['web_client', null], { zone: ZONE, window: 60, nameservers: ['127.0.0.1:9'], tries: 2, timeoutMs: 200 })).rejects.toThrow(
      /failed: nothing answers at 127\.0\.0\.1:9 \(connection refused\)/,
    );
  });

  it('a bucket that vanished between listing and GET is reported and skipped', async () => {
    await redis.client.set(`gone;x;s;${NOW - 10}`, '3');
    await redis.client.set(`gone;x;s;${NOW - 20}`, '4');
    const r = await total(['gone', null], {
      zone: ZONE,
      window: 60,
      nameservers: [ns],
      now: NOW,
      debug: (l) => {
        if (l.includes('.keys.')) void redis.client.del(`gone;x;s;${NOW - 20}`);
      },
    });
    expect(r.groups).toEqual([{ group: 'x', fields: ['x'], value: 3, count: 3 }]);
    expect(r.diagnostics.bucketsFailed).toEqual([{ key: `gone;x;s;${NOW - 20}`, reason: 'NXDOMAIN' }]);
  });

  it('a listing too large for UDP is retried over TCP; repeated totals are answered from the TTL cache', async () => {
    const pipe = redis.client.pipeline();
    for (let i = 0; i < 200; i++) pipe.set(`wide;item${i};s;${NOW - 5}`, '1', 'EX', 600);
    await pipe.exec();
    const lines: string[] = [];
    const { makeLookups } = await import('../../src/index.js');
    const lookups = makeLookups({ nameservers: [ns], debug: (l) => lines.push(l) });
    const first = await total(['wide', null], { zone: ZONE, window: 60, lookups, now: NOW, sharded: true });
    expect(first.groups).toHaveLength(200);
    expect(lines.some((l) => /truncated, retrying over TCP/.test(l))).toBe(true);
    const second = await total(['wide', null], { zone: ZONE, window: 60, lookups, now: NOW, sharded: true });
    expect(second.groups).toEqual(first.groups);
    expect(second.diagnostics.queries).toBe(0);
    // The description (none: a cached NXDOMAIN), the listing and config.
    expect(second.diagnostics.cacheHits).toBe(3);
  });

  it('lookups for one total keep small answers but not listings: a second total asks the listing again', async () => {
    // 300 records of at least 30 bytes: an answer well over LARGE_ANSWER_BYTES.
    const pipe = redis.client.pipeline();
    for (let i = 0; i < 300; i++) pipe.set(`once;item${i};s;${NOW - 5}`, '1', 'EX', 600);
    await pipe.exec();
    const { makeLookups } = await import('../../src/index.js');
    const lookups = makeLookups({ nameservers: [ns], once: true });
    const first = await total(['once', null], { zone: ZONE, window: 60, lookups, now: NOW, sharded: true });
    expect(first.groups).toHaveLength(300);
    const second = await total(['once', null], { zone: ZONE, window: 60, lookups, now: NOW, sharded: true });
    expect(second.groups).toEqual(first.groups);
    // The description (a cached NXDOMAIN) and config from the cache; the listing asked again, over UDP and then TCP.
    expect(second.diagnostics.cacheHits).toBe(2);
    expect(second.diagnostics.queries).toBe(2);
  });
});

describe('totalize CLI', () => {
  const cli = (...args: string[]) => run('node', [TOTALIZE, ...args, '--server', ns, '--zone', ZONE]);

  it('prints a table: one column per comma part of the break field, count, trend, sorted by count', async () => {
    const r = await cli('web_client', '--window', '1h', '--trend', '--columns', 'ip,status');
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^ip\s+status\s+count\s+trend$/);
    expect(rows[2]).toMatch(/^10\.0\.0\.224\s+200\s+\d+\s+\d\.\d\d$/);
    expect(rows.length).toBe(2 + 3 + 1);
    expect(rows[5]).toMatch(/^as of ≤ 30 s$/);
  });

  it('a result larger than a pipe holds (64 kB) comes out whole into the pipe the output goes to', async () => {
    // 4,000 groups of their own prefix: ~100 kB of CSV, ~400 kB of JSON; the tests read the CLI through a pipe.
    const n = 4000;
    const kv: string[] = [];
    for (let i = 0; i < n; i++) kv.push(`pipe_test;10.1.${i >> 8}.${i & 255},200;web1;${NOW - 60}`, String(1 + (i % 5)));
    await redis.client.mset(kv);
    const csv = await cli('pipe_test', '--format', 'csv', '--window', '1h', '--sharded');
    expect(csv.code).toBe(0);
    const rows = csv.stdout.trim().split('\n');
    expect(rows.length).toBe(1 + n);
    expect(rows.slice(1).reduce((a, row) => a + Number(row.split(',').at(-1)), 0)).toBe(kv.filter((_, j) => j % 2 === 1).reduce((a, v) => a + Number(v), 0));
    const json = JSON.parse((await cli('pipe_test', '--format', 'json', '--window', '1h', '--sharded')).stdout) as { groups: unknown[] };
    expect(json.groups).toHaveLength(n);
  });

  it('json and csv formats, --top, --where, --by source, upstream-style positional specs', async () => {
    const json = JSON.parse((await cli('web_client', '--format', 'json', '--window', '3600')).stdout) as { groups: { fields: { matched: string } }[] };
    expect(json.groups.map((g) => g.fields.matched)).toContain('10.0.0.9,404');
    const csv = (await cli('web_client', '--format', 'csv', '--top', '1', '--window', '3600')).stdout.trim().split('\n');
    expect(csv).toHaveLength(2);
    expect(csv[0]).toBe('matched.1,matched.2,count');
    const where = (await cli('web_client', '--where', 'source=flame', '--format', 'csv', '--window', '1h')).stdout;
    expect(where).toContain('10.0.0.9,404,1');
    const by = (await cli('web_client', '--by', 'source', '--format', 'csv', '--window', '1h')).stdout.trim().split('\n');
    expect(by.slice(1).sort()).toEqual(['flame,3', `sophia,${Math.round(5 + 7 + 3 + 6 + 4)}`]);
    const positional = (await cli('web_client', 'ignore', 'break', '--format', 'csv', '--window', '1h')).stdout.trim().split('\n');
    expect(positional.slice(1).sort()).toEqual(by.slice(1).sort());
  });

  it('--sharded gives the same output; --debug prints each query and its outcome', async () => {
    const plain = await cli('web_client', '--format', 'csv', '--window', '1h');
    const sharded = await cli('web_client', '--format', 'csv', '--window', '1h', '--sharded', '--debug');
    expect(sharded.stdout).toBe(plain.stdout);
    expect(sharded.stderr).toMatch(/debug: web_client;\*;\*;\*\.shget\.rkvdns\.test via 127\.0\.0\.1:\d+: rcode 0, 8 answer\(s\)/);
  });

  it('exit codes: 0 for an empty total, 1 for a DNS error, 2 for usage errors', async () => {
    expect((await cli('nothing')).code).toBe(0);
    const dnsErr = await run('node', [TOTALIZE, 'web_client', '--server', '127.0.0.1:9', '--zone', ZONE, '--timeout', '200']);
    expect(dnsErr.code).toBe(1);
    expect(dnsErr.stderr).toMatch(/listing web_client;\*;\*;\*\.keys\.rkvdns\.test failed/);
    for (const args of [
      ['web_client', '--window', 'soon'],
      ['web_client', '--by', 'colour'],
      ['web_client', '--format', 'xml'],
      ['web_client', 'ignore'],
    ]) {
      const r = await cli(...args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
    }
  });

  it('--spark adds a sparkline column', async () => {
    const r = await cli('web_client', '--spark', '--top', '1');
    expect(r.stdout.split('\n')[0]).toMatch(/count\s+buckets$/);
    expect(r.stdout.split('\n')[2]).toMatch(/^10\.0\.0\.224\s+200\s+23\s+[▁▂▃▄▅▆▇█]{24}$/);
  });

  it('zone and server from a config file or TOTALIZE_ZONE/TOTALIZE_SERVER', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const file = `${mkdtempSync(`${tmpdir()}/tz-`)}/totalize.yaml`;
    writeFileSync(file, `zone: ${ZONE}\nserver: ["${ns}"]\n`);
    const viaFile = await run('node', [TOTALIZE, 'web_client', '--config', file, '--format', 'csv']);
    expect(viaFile.code).toBe(0);
    expect(viaFile.stdout).toContain('10.0.0.9,404,1');
    const viaEnv = await new Promise<string>((resolve) => {
      void import('node:child_process').then(({ execFile }) =>
        execFile('node', [TOTALIZE, 'web_client', '--format', 'csv'], { env: { ...process.env, TOTALIZE_ZONE: ZONE, TOTALIZE_SERVER: ns } }, (_e, out) =>
          resolve(out),
        ),
      );
    });
    expect(viaEnv).toBe(viaFile.stdout);
  });

  it('--watch refreshes the view until interrupted, answering repeats from the cache', async () => {
    const { startProcess } = await import('../helpers/process.js');
    const p = await startProcess('node', [TOTALIZE, 'web_client', '--server', ns, '--zone', ZONE, '--watch', '1', '--debug'], /(every 1s[^]*){2}/, {
      timeoutMs: 8000,
    });
    expect(await p.stop('SIGINT')).toBe(0);
    // Each round (the description is read once): the listing, config, 4 open-bucket shgets, 3 closed GETs.
    expect(p.output()).toMatch(/\d+ key\(s\) listed, 0 DNS queries, 9 answered from cache/);
  });

  it('--window accepts 30m, 1h, 1d', async () => {
    const a = await cli('web_client', '--format', 'csv', '--window', '60m');
    const b = await cli('web_client', '--format', 'csv', '--window', '3600');
    expect(a.stdout).toBe(b.stdout);
  });
});
