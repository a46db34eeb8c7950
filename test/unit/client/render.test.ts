import { describe, expect, it } from 'vitest';
import { renderCsv, renderTable } from '../../../src/client/render.js';
import type { GroupResult, TotalResult } from '../../../src/client/total.js';

/** A count per group for `n` groups named `10.0.<i>,200` (one of them longer), as total() gives them. */
function result(n: number): TotalResult {
  const groups: GroupResult[] = Array.from({ length: n }, (_, i) => {
    const group = i === n - 1 ? `10.0.${i},200,widest` : `10.0.${i},200`;
    return { group, fields: [group], value: n - i, count: n - i };
  });
  return {
    measure: 'count',
    scale: 0,
    groups,
    description: null,
    freshness: { atMostSeconds: 30, staleAnswers: 0 },
    diagnostics: { zones: ['rkvdns.test'], queries: 0, cacheHits: 0, keysListed: 0, keysSkipped: [], bucketsFailed: [], notes: [] },
  };
}

describe('rendering hundreds of thousands of groups', () => {
  // More groups than a function call takes arguments (Math.max(...widths) once failed a million-key totalizer).
  const n = 300_000;
  const r = result(n);
  const o = { breakNames: ['matched'], trend: false, spark: false };

  it('a table: a line per group, columns as wide as the widest cell', () => {
    const lines = renderTable(r, o).split('\n');
    // Header, rule, the groups, the freshness line.
    expect(lines.length).toBe(n + 3);
    // The widest cell of each column: the last group's address, `matched.N` headers, the largest count.
    const w = [`10.0.${n - 1}`.length, 'matched.2'.length, 'matched.3'.length, String(n).length];
    expect(lines[0]).toBe(['matched.1'.padEnd(w[0]!), 'matched.2'.padEnd(w[1]!), 'matched.3'.padEnd(w[2]!), 'count'.padStart(w[3]!)].join('  '));
    expect(lines.at(-2)).toBe([`10.0.${n - 1}`, '200'.padEnd(w[1]!), 'widest'.padEnd(w[2]!), '1'.padStart(w[3]!)].join('  '));
  });

  it('CSV: a line per group', () => {
    const lines = renderCsv(r, o).split('\n');
    expect(lines.length).toBe(n + 1);
    expect(lines[1]).toBe(`10.0.0,200,,${n}`);
  });
});

describe('table widths', () => {
  const r = (fields: string[][]): TotalResult => ({
    ...result(0),
    groups: fields.map((f, i) => ({ group: f.join(';'), fields: f, value: i + 1, count: i + 1 })),
  });

  it('counts characters as a terminal shows them: a surrogate pair is one, a lone surrogate one', () => {
    // '😀😀' is four UTF-16 units and two characters: the column is as wide as 'host' (4), not 'xy😀😀' (6 units).
    const lines = renderTable(r([['xy😀😀'], ['ab\uD800'], ['host']]), { breakNames: ['name'], trend: false, spark: false }).split('\n');
    expect(lines[1]).toBe('----  -----');
    expect(lines[4]).toBe('host      3');
  });

  it('a field holding commas in some group is split into columns in every group', () => {
    const lines = renderCsv(
      r([
        ['a,b', 'x'],
        ['c', 'y,z,w'],
      ]),
      { breakNames: ['m', 's'], trend: false, spark: false },
    ).split('\n');
    expect(lines).toEqual(['m.1,m.2,s.1,s.2,s.3,count', 'a,b,x,,,1', 'c,,y,z,w,2']);
  });

  it('CSV quotes a cell holding a quote or a newline, its quotes doubled, and a column name holding a comma', () => {
    const csv = renderCsv(r([['say "hi"'], ['two\nlines'], ['plain']]), { breakNames: ['name'], columns: ['who, or what'], trend: false, spark: false });
    expect(csv).toBe(['"who, or what",count', '"say ""hi""",1', '"two\nlines",2', 'plain,3'].join('\n'));
  });
});
