/**
 * Totals as Prometheus gauges, for `totalize --format prometheus` (node_exporter's textfile collector) and for
 * `totalize exporter`. One series per group and measure:
 *   totalizer_value{totalizer="web_client",window_seconds="3600",measure="count",matched="10.0.0.1"} 42
 *   totalizer_value{totalizer="web_bytes",window_seconds="3600",measure="sum",matched="/"} 5120000
 * (a sum totalizer also gives measure="count" and measure="avg"; a max or min one measure="max" or "min"),
 * with the grouped fields as labels (named after the key pattern's fields, or after --columns), the trend beside
 * it when asked, and the keys listed and buckets that could not be read, so an alert can tell "no traffic" from
 * "no data". (A gauge named `..._count` would read as a histogram's count to Prometheus's tools.)
 */
import { labelName, type Family, type Labels, type Sample } from '../common/metrics.js';
import { fieldColumns, topGroups } from './render.js';
import type { Measure } from '../common/measure.js';
import type { GroupResult, TotalResult } from './total.js';

/** One totalizer's latest totals, as the exporter or the CLI computed them. */
export interface TotalsEntry {
  /** The `totalizer` label: the prefix, or the name the exporter's config gives. */
  name: string;
  window: number;
  breakNames: readonly string[];
  trend: boolean;
  result: TotalResult;
  /** Label names for the comma parts of the grouped fields (--columns). */
  columns?: readonly string[];
  /** Only the first groups (--top). */
  top?: number;
}

/** Labels the families set themselves; a grouped field of the same name gets `_field` appended. */
const OWN_LABELS = new Set(['totalizer', 'window_seconds', 'measure', 'le', 'quantile', 'job', 'instance']);

function fieldLabel(name: string): string {
  const l = labelName(name);
  return OWN_LABELS.has(l) || l.startsWith('__') ? `${l}_field` : l;
}

function ownLabels(e: TotalsEntry): Labels {
  return { totalizer: e.name, window_seconds: String(e.window) };
}

/** Each kept group with the labels of its grouped fields (or of their --columns parts). */
function labelledGroups(e: TotalsEntry): { group: GroupResult; fields: Labels }[] {
  const groups = topGroups(e.result.groups, e.top);
  const cols = e.columns ? fieldColumns(groups, e.breakNames, e.columns) : null;
  return groups.map((g) => {
    const fields: Labels = {};
    if (cols) cols.values(g).forEach((v, i) => (fields[fieldLabel(cols.names[i]!)] = v));
    else e.breakNames.forEach((n, i) => (fields[fieldLabel(n)] = g.fields[i] ?? ''));
    return { group: g, fields };
  });
}

export const TOTALS_FAMILIES = {
  totalizer_value: "the total over the window per group of the grouped fields, by measure: count; sum, count and avg (a sum totalizer's); max; min",
  totalizer_trend:
    "counts and sums: the last quarter of the window / (total × 0.25); maxima and minima: the last quarter's / the window's; capped at 9.99 (only for totalizers with trend)",
  totalizer_keys_listed: 'bucket keys the listing returned',
  totalizer_buckets_failed: 'buckets in the window whose value could not be read (left out of the counts)',
} as const;

/** A group's values as series: the count; a sum with its count and mean; a maximum or a minimum. */
export function seriesOf(g: GroupResult, measure: Measure): [string, number][] {
  if (measure === 'count') return [['count', g.value]];
  if (measure === 'sum') return [['sum', g.value], ['count', g.count ?? 0], ...(g.avg !== undefined ? ([['avg', g.avg]] as [string, number][]) : [])];
  return [[measure, g.value]];
}

/** The families of the given totals; `entries` is read at scrape time, so the exporter can hand its latest. */
export function totalsFamilies(entries: () => readonly TotalsEntry[]): Family[] {
  const family = (name: keyof typeof TOTALS_FAMILIES, samples: (e: TotalsEntry) => Sample[]): Family => ({
    name,
    help: TOTALS_FAMILIES[name],
    type: 'gauge',
    samples: () => entries().flatMap(samples),
  });
  return [
    family('totalizer_value', (e) =>
      labelledGroups(e).flatMap(({ group, fields }) =>
        seriesOf(group, e.result.measure).map(([measure, value]) => ({ labels: { ...ownLabels(e), measure, ...fields }, value })),
      ),
    ),
    family('totalizer_trend', (e) =>
      e.trend ? labelledGroups(e).map(({ group, fields }) => ({ labels: { ...ownLabels(e), ...fields }, value: group.trend ?? 0 })) : [],
    ),
    family('totalizer_keys_listed', (e) => [{ labels: ownLabels(e), value: e.result.diagnostics.keysListed }]),
    family('totalizer_buckets_failed', (e) => [{ labels: ownLabels(e), value: e.result.diagnostics.bucketsFailed.length }]),
  ];
}

/** The totals' families as the README lists them. */
export function totalsFamilyRows() {
  return (Object.keys(TOTALS_FAMILIES) as (keyof typeof TOTALS_FAMILIES)[]).map((name) => ({
    name,
    type: 'gauge' as const,
    labels:
      name === 'totalizer_value'
        ? ['totalizer', 'window_seconds', 'measure', 'the grouped fields']
        : name === 'totalizer_trend'
          ? ['totalizer', 'window_seconds', 'the grouped fields']
          : ['totalizer', 'window_seconds'],
    help: TOTALS_FAMILIES[name],
  }));
}
