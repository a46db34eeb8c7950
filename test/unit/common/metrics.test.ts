import { describe, expect, it } from 'vitest';
import { formatHostPort, parseHostPort } from '../../../src/common/hostport.js';
import { bucketOf, histogramSamples, labelName, registryOf } from '../../../src/common/metrics.js';

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:9153', { host: '127.0.0.1', port: 9153 }],
    ['[::1]:9153', { host: '::1', port: 9153 }],
    [':9153', { host: '0.0.0.0', port: 9153 }],
    ['metrics.local:80', { host: 'metrics.local', port: 80 }],
  ])('%s', (text, want) => {
    expect(parseHostPort(text)).toEqual(want);
    expect(formatHostPort(want)).toBe(text.startsWith(':') ? `0.0.0.0${text}` : text);
  });
  it.each(['localhost', '127.0.0.1:', '::1:9153', '127.0.0.1:70000', '[::1]9153'])('refuses %s', (text) => {
    expect(parseHostPort(text)).toEqual({ error: expect.stringContaining(`got '${text}'`) as unknown });
  });
});

describe('histograms', () => {
  const bounds = [0.001, 0.01, 0.1];
  it('puts a value in the first bucket whose bound it does not exceed', () => {
    expect([0, 0.001, 0.0011, 0.05, 0.1, 5].map((v) => bucketOf(bounds, v))).toEqual([0, 0, 1, 2, 2, 3]);
  });
  it('writes cumulative buckets, +Inf, sum and count', () => {
    expect(histogramSamples('h', bounds, [2, 0, 3, 1], 1.5)).toEqual([
      { metricName: 'h_bucket', labels: { le: '0.001' }, value: 2 },
      { metricName: 'h_bucket', labels: { le: '0.01' }, value: 2 },
      { metricName: 'h_bucket', labels: { le: '0.1' }, value: 5 },
      { metricName: 'h_bucket', labels: { le: '+Inf' }, value: 6 },
      { metricName: 'h_sum', value: 1.5 },
      { metricName: 'h_count', value: 6 },
    ]);
  });
});

describe('labelName', () => {
  it.each([
    ['matched', 'matched'],
    ['user-agent', 'user_agent'],
    ['2xx', '_2xx'],
  ])('%s → %s', (text, want) => expect(labelName(text)).toBe(want));
});

describe('registryOf', () => {
  it('writes the families read at scrape time, label values escaped', async () => {
    let n = 1;
    const registry = registryOf([
      { name: 'x_total', help: 'things', type: 'counter', samples: () => [{ labels: { what: 'a"b\\c' }, value: n }] },
      { name: 'y', help: 'a gauge', type: 'gauge', samples: () => [{ value: 7 }] },
    ]);
    n = 42;
    expect(await registry.metrics()).toBe(
      '# HELP x_total things\n# TYPE x_total counter\nx_total{what="a\\"b\\\\c"} 42\n\n# HELP y a gauge\n# TYPE y gauge\ny 7\n',
    );
  });
});
