import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README_TABLES, readmeTable } from '../../../src/readme-tables.js';

describe('the declared counters and metric families', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  for (const [name, table] of Object.entries(README_TABLES))
    it(`are the README's ${name} table (npm run docs:tables rewrites it)`, () => {
      expect(readmeTable(readme, name)).toBe(table());
    });
});
