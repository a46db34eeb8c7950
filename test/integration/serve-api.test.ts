/**
 * `totalize serve`'s API against the whole path (agent fed with the sample log, Redis, rkvdns, unbound): the same
 * totals as `totalize --format json`, the Graphite format, every refusal, many viewers costing the DNS what one
 * does, and rkvdns gone answered with totalize's diagnosis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG, startServeStack, TTL, type ServeStack } from '../helpers/serve-stack.js';

let stack: ServeStack;
beforeAll(async () => {
  stack = await startServeStack();
});
afterAll(async () => stack?.stop());

const get = async (path: string) => {
  const res = await fetch(stack.base + path);
  return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as Record<string, unknown> & { error?: string } };
};

/** Groups as the CLI prints them, the API's extras (series, sources) left out. */
/**
 * What the API and the CLI must agree on exactly. The trend pro-rates the bucket that straddles its quarter by the
 * time, and the two are asked a moment apart: trends are compared apart, to within 0.02.
 */
const comparable = (groups: Record<string, unknown>[]) => groups.map(({ buckets: _b, sources: _s, trend: _t, ...g }) => g);
const trends = (groups: Record<string, unknown>[]) => groups.map((g) => g.trend as number);

describe('the API', () => {
  it('/api/totalizers lists what is served, with each measure and what it can be grouped by', async () => {
    const r = await get('/api/totalizers');
    expect(r.status).toBe(200);
    expect(r.body).toEqual([
      expect.objectContaining({ name: 'web_client', measure: 'count', window: 3600, groupings: ['matched', 'source'] }),
      expect.objectContaining({ name: 'web_bytes', measure: 'sum', window: 3600, bucketSeconds: 900 }),
    ]);
  });

  it('/api/totals/<name> gives the totals totalize --format json gives, with series and a per-source split', async () => {
    for (const [name, query, args] of [
      ['web_client', '', ['--window', '1h']],
      ['web_bytes', '?window=30m&top=5', ['--window', '30m', '--top', '5']],
      ['web_client', '?by=source', ['--window', '1h', '--by', 'source']],
    ] as const) {
      const api = await get(`/api/totals/${name}${query}`);
      expect(api.status).toBe(200);
      const cli = await stack.cliJson(name, ...args, '--trend', ...(query.includes('top') ? [] : ['--top', '10']));
      expect({ name, query, groups: comparable(api.body.groups as Record<string, unknown>[]) }).toEqual({ name, query, groups: comparable(cli.groups) });
      const [apiTrends, cliTrends] = [trends(api.body.groups as Record<string, unknown>[]), trends(cli.groups)];
      expect(apiTrends.every((t, i) => typeof t === 'number' && Math.abs(t - cliTrends[i]!) <= 0.02)).toBe(true);
    }
    // From the sample log itself: the requests of 10.0.0.200 answered 200, all from the one source.
    const want = LOG.filter((l) => /^10\.0\.0\.200 .*" 200 /.test(l)).length;
    const r = await get('/api/totals/web_client?top=200');
    const g = (r.body.groups as { group: string; count: number; sources: Record<string, number>; buckets: number[] }[]).find(
      (x) => x.group === '10.0.0.200,200',
    )!;
    expect(g.count).toBe(want);
    expect(Object.values(g.sources)).toEqual([want]);
    // Each bucket is rounded to two places in the JSON.
    expect(g.buckets.reduce((a, v) => a + v, 0)).toBeCloseTo(want, 0);
    const series = r.body.series as { points: number; total: number[]; step: number };
    expect(series.total).toHaveLength(series.points);
    expect(series.total.reduce((a, v) => a + v, 0)).toBeCloseTo(LOG.filter((l) => /" \d{3} /.test(l)).length, 0);
    expect(r.body.refreshAfterSeconds).toBe(5);
  });

  it('format=graphite: a target per group and the total, datapoints [value, unix seconds]', async () => {
    const r = await get('/api/totals/web_bytes?format=graphite&top=3');
    expect(r.status).toBe(200);
    const targets = r.body as unknown as { target: string; datapoints: [number, number][] }[];
    expect(targets.map((t) => t.target)).toEqual([
      'web_bytes./',
      expect.stringMatching(/^web_bytes\./),
      expect.stringMatching(/^web_bytes\./),
      'web_bytes.total',
    ]);
    const now = Date.now() / 1000;
    for (const t of targets) for (const [, ts] of t.datapoints) expect(Math.abs(ts - now)).toBeLessThan(3600 + 60);
    const rootBytes = LOG.map((l) => /"[A-Z]+ \/[ ?][^"]*" \d{3} (\d+)/.exec(l)).reduce((a, m) => a + (m ? Number(m[1]) : 0), 0);
    expect(targets[0]!.datapoints.reduce((a, [v]) => a + v, 0)).toBeCloseTo(rootBytes, 0);
  });

  it('refuses what it cannot answer, saying why: 400 malformed, 413 beyond the limits, 404 not served', async () => {
    for (const [path, status, reason] of [
      ['/api/totals/web_client?colour=red', 400, /unknown parameter 'colour' \(known: window, by, where, top, format\)/],
      ['/api/totals/web_client?window=soon', 400, /window 'soon' is not a duration/],
      ['/api/totals/web_client?window=0', 400, /window '0' is empty/],
      ['/api/totals/web_client?window=60d', 413, /longer than the 31 days/],
      ['/api/totals/web_client?window=2d', 413, /longer than web_client keeps its buckets \(3600 s\)/],
      ['/api/totals/web_client?by=colour', 400, /unknown field 'colour'/],
      ['/api/totals/web_client?by=a;b', 400, /not a comma-separated list of field names/],
      ['/api/totals/web_client?where=source', 400, /where 'source' is not FIELD=VALUE/],
      ['/api/totals/web_client?top=0', 400, /top '0' is not a positive integer/],
      ['/api/totals/web_client?top=5000', 413, /at most 200 groups/],
      ['/api/totals/web_client?format=xml', 400, /format 'xml' is not json or graphite/],
      ['/api/totals/web_clients', 404, /no totalizer 'web_clients' is served here; these are: web_client, web_bytes/],
    ] as const) {
      const r = await get(path);
      expect({ path, status: r.status, type: r.type }).toEqual({ path, status, type: 'application/json; charset=utf-8' });
      expect(r.body.error).toMatch(reason);
    }
  });

  it('fifty viewers at once, each with its own view, cost the DNS no more than one viewer', async () => {
    const cold = async (viewers: number) => {
      // Every answer lives TTL seconds in the server's cache: after that, all are asked again.
      await new Promise((r) => setTimeout(r, (TTL + 1) * 1000));
      const before = await stack.queries();
      // Each viewer asks its own window, so each is computed apart: only the shared lookups can spare the DNS.
      const answers = await Promise.all(Array.from({ length: viewers }, (_, i) => get(`/api/totals/web_client?window=${10 + i}m`)));
      expect(answers.every((a) => a.status === 200)).toBe(true);
      return (await stack.queries()) - before;
    };
    const one = await cold(1);
    const fifty = await cold(50);
    expect(one).toBeGreaterThan(0);
    expect(fifty).toBeLessThanOrEqual(one);
  });

  it("rkvdns gone: a 502 with totalize's diagnosis, and /readyz says so on the next round", async () => {
    await stack.rkvdns.stop();
    await new Promise((r) => setTimeout(r, (TTL + 1) * 1000));
    const r = await get('/api/totals/web_client?window=20m');
    expect(r.status).toBe(502);
    expect(r.body.error).toMatch(/listing web_client;\*;\*;\*\.keys\.rkvdns\.test failed: [^]*\n\s*tried: [^]*\n\s*likely causes: /);
  });
});
