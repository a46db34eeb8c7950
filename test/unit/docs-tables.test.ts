import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOC_TABLES, pageTable } from '../../src/docs-tables.js';
import { SETTING_NAMES } from '../../src/rkvdns/settings.js';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

describe('the reference pages show the declared settings, counters and metric families', () => {
  for (const [file, tables] of Object.entries(DOC_TABLES))
    for (const [name, table] of Object.entries(tables))
      it(`${file}: the ${name} table (npm run docs:tables rewrites it)`, () => {
        expect(pageTable(read(file), name)).toBe(table());
      });

  it('docs/rkvdns.md describes every setting rkvdns --help lists', () => {
    const page = read('docs/rkvdns.md');
    for (const name of SETTING_NAMES) expect(page).toContain(`| \`${name}\` |`);
  });
});
