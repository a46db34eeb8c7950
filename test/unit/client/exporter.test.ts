import { describe, expect, it } from 'vitest';
import { parseTotalizers } from '../../../src/client/exporter.js';
import { totalsFamilies, type TotalsEntry } from '../../../src/client/prometheus.js';

describe('exporter.totalizers', () => {
  it('builds each totalizer from prefix, window and grouping, with the file zone as default', () => {
    const [a, b] = parseTotalizers(
      [
        { prefix: 'web_client', window: '1h' },
        { name: 'pages', prefix: 'web_page', by: 'source', where: ['matched=/index.html'], zone: 'other.example', sharded: true, trend: true },
      ],
      'rkvdns.example',
      500,
    );
    expect(a).toMatchObject({ name: 'web_client', breakNames: ['matched'], options: { zone: 'rkvdns.example', window: 3600, sharded: false, timeoutMs: 500 } });
    expect(b).toMatchObject({ name: 'pages', breakNames: ['source'], options: { zone: 'other.example', window: 3600, sharded: true, trend: true } });
    expect(b!.spec[1]).toEqual({ kind: 'literal', value: '/index.html' });
  });
  it.each([
    [[], /non-empty list/],
    [[{ window: '1h' }], /prefix .* is required/],
    [[{ prefix: 'a', windw: '1h' }], /unknown field 'windw'/],
    [[{ prefix: 'a' }, { prefix: 'a' }], /a second totalizer named 'a'/],
    [[{ prefix: 'a', window: 'soon' }], /is not a duration/],
    [[{ prefix: 'a', by: 'nosuch' }], /unknown field 'nosuch'/],
  ])('refuses %j', (raw, error) => {
    expect(() => parseTotalizers(raw, 'z.example', 1000)).toThrow(error);
  });
  it('needs a zone', () => {
    expect(() => parseTotalizers([{ prefix: 'a' }], undefined, 1000)).toThrow(/no zone/);
  });
});

describe('totals as gauges', () => {
  const entry = (breakNames: string[], fields: string[]): TotalsEntry => ({
    name: 't',
    window: 60,
    breakNames,
    trend: false,
    result: {
      measure: 'count',
      scale: 0,
      freshness: { atMostSeconds: null, staleAnswers: 0 },
      description: null,
      groups: [{ group: fields.join(';'), fields, value: 5, count: 5 }],
      diagnostics: { zones: [], queries: 0, cacheHits: 0, keysListed: 1, keysSkipped: [], bucketsFailed: [], notes: [] },
    },
  });
  it('labels each group by its field names; names the families own get _field', () => {
    const [value] = totalsFamilies(() => [entry(['matched', 'totalizer', 'user-agent'], ['a', 'b', 'c'])]);
    expect(value!.samples()).toEqual([
      { labels: { totalizer: 't', window_seconds: '60', measure: 'count', matched: 'a', totalizer_field: 'b', user_agent: 'c' }, value: 5 },
    ]);
  });

  it('with --columns, labels the parts of a comma-joined field; with --top, only the first groups', () => {
    const e = entry(['matched'], ['10.0.0.1,200']);
    const two = { ...e, result: { ...e.result, groups: [...e.result.groups, { group: '10.0.0.2,404', fields: ['10.0.0.2,404'], value: 3, count: 3 }] } };
    const [value] = totalsFamilies(() => [{ ...two, columns: ['ip', 'status'], top: 1 }]);
    expect(value!.samples()).toEqual([{ labels: { totalizer: 't', window_seconds: '60', measure: 'count', ip: '10.0.0.1', status: '200' }, value: 5 }]);
  });

  it('a sum totalizer gives its sum, count and mean; a max totalizer its maximum', () => {
    const e = entry(['matched'], ['/']);
    const sum = { ...e, result: { ...e.result, measure: 'sum' as const, groups: [{ group: '/', fields: ['/'], value: 1200, sum: 1200, count: 3, avg: 400 }] } };
    const [value] = totalsFamilies(() => [sum]);
    const own = { totalizer: 't', window_seconds: '60' };
    expect(value!.samples()).toEqual([
      { labels: { ...own, measure: 'sum', matched: '/' }, value: 1200 },
      { labels: { ...own, measure: 'count', matched: '/' }, value: 3 },
      { labels: { ...own, measure: 'avg', matched: '/' }, value: 400 },
    ]);
    const max = { ...e, result: { ...e.result, measure: 'max' as const, groups: [{ group: '/', fields: ['/'], value: 0.25, max: 0.25 }] } };
    expect(totalsFamilies(() => [max])[0]!.samples()).toEqual([{ labels: { ...own, measure: 'max', matched: '/' }, value: 0.25 }]);
  });
});
