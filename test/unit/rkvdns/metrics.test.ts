import { describe, expect, it } from 'vitest';
import { registryOf } from '../../../src/common/metrics.js';
import { rkvdnsFamilies } from '../../../src/rkvdns/metrics.js';
import { ServerStats } from '../../../src/rkvdns/stats.js';

describe('rkvdns /metrics families', () => {
  it('a scrape reads the gauges once, not once per gauge family, and the next scrape reads them again', async () => {
    let reads = 0;
    const gauges = () => ({ pending: ++reads, flights: 7 });
    const registry = registryOf(rkvdnsFamilies(new ServerStats(), gauges, () => null));
    const first = await registry.metrics();
    expect(reads).toBe(1);
    expect(first).toMatch(/^rkvdns_pending_queries 1$/m);
    expect(first).toMatch(/^rkvdns_flights 7$/m);
    expect(await registry.metrics()).toMatch(/^rkvdns_pending_queries 2$/m);
    expect(reads).toBe(2);
  });
});
