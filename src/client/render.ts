/** Output of totals as a table, JSON or CSV. A break field holding `a,b` is shown as two columns. */
import type { GroupResult, TotalResult } from './total.js';

const SPARK = '▁▂▃▄▅▆▇█';

export function sparkline(series: readonly number[]): string {
  const max = Math.max(...series);
  if (max <= 0) return SPARK[0]!.repeat(series.length);
  return series.map((v) => SPARK[Math.min(SPARK.length - 1, Math.floor((v / max) * (SPARK.length - 1) + 0.5))]).join('');
}

export interface RenderOptions {
  /** Names of the break fields, in order. */
  breakNames: string[];
  /** Column names for the comma-separated parts of break fields, in order over all of them. */
  columns?: string[];
  trend: boolean;
  spark: boolean;
  top?: number;
}

/**
 * The grouped fields as columns: a field holding `a,b` in any group becomes two, named from `columns` in order
 * (else `field.1`, `field.2`); without `columns` a field that never holds a comma stays one column. Shared by
 * every format, so `--columns` names the same things in a table, CSV, JSON and Prometheus labels.
 */
export function fieldColumns(groups: readonly Pick<GroupResult, 'fields'>[], breakNames: readonly string[], columns?: readonly string[]) {
  // A loop, not Math.max(...): a big totalizer has hundreds of thousands of groups, more arguments than a call takes.
  const widths = breakNames.map((_, i) => groups.reduce((w, g) => Math.max(w, partsOf(g.fields[i] ?? '')), 1));
  const names: string[] = [];
  let named = 0;
  breakNames.forEach((name, i) => {
    for (let j = 0; j < widths[i]!; j++) names.push(columns?.[named++] ?? (widths[i]! > 1 ? `${name}.${j + 1}` : name));
  });
  /** Group g's columns written to out from `at`; returns where they end (no array per group: a table is 250,000). */
  const write = (g: Pick<GroupResult, 'fields'>, out: string[], at: number): number => {
    for (let i = 0; i < widths.length; i++) {
      const field = g.fields[i] ?? '';
      const width = widths[i]!;
      if (width === 1) {
        out[at++] = field;
        continue;
      }
      // The comma-separated parts, missing ones empty (as split(',') would give them, without the array).
      let from = 0;
      for (let j = 0; j < width; j++) {
        if (from > field.length) {
          out[at++] = '';
          continue;
        }
        const comma = field.indexOf(',', from);
        const end = comma < 0 ? field.length : comma;
        out[at++] = field.slice(from, end);
        from = end + 1;
      }
    }
    return at;
  };
  const values = (g: Pick<GroupResult, 'fields'>): string[] => {
    const out: string[] = [];
    write(g, out, 0);
    return out;
  };
  return { names, values, write };
}

/** How many comma-separated parts a field holds (split(',').length, without making them). */
function partsOf(field: string): number {
  let n = 1;
  for (let at = field.indexOf(','); at >= 0; at = field.indexOf(',', at + 1)) n++;
  return n;
}

/** Characters as the terminal shows them: code points, a surrogate pair one ([...s].length, without the array). */
function displayLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** The groups `--top` keeps. */
export const topGroups = <G>(groups: readonly G[], top?: number): readonly G[] => (top ? groups.slice(0, top) : groups);

/** The measure's columns: a count; a sum with its count and mean; a maximum or a minimum. `write` as fieldColumns's. */
function measureColumns(r: TotalResult): { names: string[]; write: (g: GroupResult, out: string[], at: number) => number } {
  const dec = (v: number | undefined, places: number) => (v === undefined ? '' : v.toFixed(places));
  switch (r.measure) {
    case 'count':
      return {
        names: ['count'],
        write: (g, out, at) => {
          out[at] = String(g.value);
          return at + 1;
        },
      };
    case 'sum':
      return {
        names: ['sum', 'count', 'avg'],
        write: (g, out, at) => {
          out[at] = dec(g.sum, r.scale);
          out[at + 1] = String(g.count ?? 0);
          out[at + 2] = dec(g.avg, r.scale + 2);
          return at + 3;
        },
      };
    default:
      return {
        names: [r.measure],
        write: (g, out, at) => {
          out[at] = dec(g.value, r.scale);
          return at + 1;
        },
      };
  }
}

/**
 * The header, and every group's cells in one array, row after row (`header.length` a row): a big totalizer is
 * 250,000 rows, and an array per row was most of the time and garbage of printing them.
 */
function columnsOf(r: TotalResult, groups: readonly GroupResult[], o: RenderOptions): { header: string[]; cells: string[]; numeric: number } {
  const fields = fieldColumns(groups, o.breakNames, o.columns);
  const measure = measureColumns(r);
  const header = [...fields.names, ...measure.names];
  if (o.trend) header.push('trend');
  if (o.spark) header.push('buckets');
  const cells = new Array<string>(groups.length * header.length);
  let at = 0;
  for (const g of groups) {
    at = measure.write(g, cells, fields.write(g, cells, at));
    if (o.trend) cells[at++] = g.trend!.toFixed(2);
    if (o.spark) cells[at++] = sparkline(g.spark ?? []);
  }
  return { header, cells, numeric: fields.names.length };
}

/** How old the data may be: the open buckets come through listings, which caches keep DEFAULT_TTL at most. */
export function freshnessLine(r: TotalResult): string {
  const stale = r.freshness.staleAnswers;
  if (stale > 0)
    return `stale: the resolver served ${stale} answer(s) past their TTL (it could not reach rkvdns); these totals are as of its last good answers`;
  return r.freshness.atMostSeconds === null
    ? "as of ≤ rkvdns's DEFAULT_TTL (its introspection, config.<zone>, is not answered here)"
    : `as of ≤ ${r.freshness.atMostSeconds} s`;
}

export function renderTable(r: TotalResult, o: RenderOptions): string {
  const groups = topGroups(r.groups, o.top);
  if (groups.length === 0) return r.measure === 'count' ? '(no counts in this window)' : `(no values in this window)`;
  const { header, cells, numeric } = columnsOf(r, groups, o);
  const n = header.length;
  const width = header.map(displayLength);
  for (let at = 0; at < cells.length; at++) width[at % n] = Math.max(width[at % n]!, displayLength(cells[at]!));
  // The measure's columns and the trend are numbers, right-aligned; the sparkline is not.
  const right = header.map((h, i) => i >= numeric && h !== 'buckets');
  // Each line made by concatenation, not as an array of padded cells joined: a big totalizer is 250,000 lines.
  const line = (row: readonly string[], from: number) => {
    let out = '';
    for (let i = 0; i < n; i++) {
      if (i > 0) out += '  ';
      const cell = row[from + i]!;
      out += right[i] ? cell.padStart(width[i]!) : cell.padEnd(width[i]!);
    }
    return out.trimEnd();
  };
  const lines = [
    line(header, 0),
    line(
      width.map((w) => '-'.repeat(w)),
      0,
    ),
  ];
  for (let from = 0; from < cells.length; from += n) lines.push(line(cells, from));
  lines.push(freshnessLine(r));
  return lines.join('\n');
}

/** A CSV cell: quoted when it holds a quote, a comma or a newline (RFC 4180), its quotes doubled. */
function csvCell(c: string): string {
  for (let i = 0; i < c.length; i++) {
    const ch = c.charCodeAt(i);
    if (ch === 34 || ch === 44 || ch === 10) return `"${c.replace(/"/g, '""')}"`;
  }
  return c;
}

export function renderCsv(r: TotalResult, o: RenderOptions): string {
  const groups = topGroups(r.groups, o.top);
  const { header, cells } = columnsOf(r, groups, { ...o, spark: false });
  const n = header.length;
  const lines = [header.map(csvCell).join(',')];
  for (let from = 0; from < cells.length; from += n) {
    let line = csvCell(cells[from]!);
    for (let i = 1; i < n; i++) line += ',' + csvCell(cells[from + i]!);
    lines.push(line);
  }
  return lines.join('\n');
}

export function renderJson(r: TotalResult, o: RenderOptions, meta: object): string {
  return JSON.stringify(jsonOf(r, o, meta), null, 2);
}

/** Column names paired with one group's values. */
const columnsObject = (names: readonly string[], values: readonly string[]) => Object.fromEntries(names.map((n, i) => [n, values[i]]));

/** The JSON document `--format json` prints (and the dashboard's API serves), as an object. */
export function jsonOf(r: TotalResult, o: RenderOptions, meta: object) {
  const kept = topGroups(r.groups, o.top);
  const cols = o.columns ? fieldColumns(kept, o.breakNames, o.columns) : null;
  const groups = kept.map((g) => ({
    group: g.group,
    fields: Object.fromEntries(o.breakNames.map((n, i) => [n, g.fields[i]])),
    ...(cols ? { columns: columnsObject(cols.names, cols.values(g)) } : {}),
    ...(g.sum !== undefined ? { sum: g.sum } : {}),
    ...(g.count !== undefined ? { count: g.count } : {}),
    ...(g.avg !== undefined ? { avg: g.avg } : {}),
    ...(g.max !== undefined ? { max: g.max } : {}),
    ...(g.min !== undefined ? { min: g.min } : {}),
    ...(g.trend !== undefined ? { trend: g.trend } : {}),
    ...(g.spark ? { buckets: g.spark.map((v) => Math.round(v * 100) / 100) } : {}),
  }));
  return { ...meta, measure: r.measure, freshness: r.freshness, groups, diagnostics: r.diagnostics };
}
