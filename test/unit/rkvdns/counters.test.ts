import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { statsTable } from '../../../src/rkvdns/counters.js';

describe('the declared counters', () => {
  it("are the README's table of stats.<zone> (npm run docs:counters rewrites it)", () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const table = /<!-- counters:begin -->\n([^]*?)\n<!-- counters:end -->/.exec(readme)?.[1];
    expect(table).toBe(statsTable());
  });
});
