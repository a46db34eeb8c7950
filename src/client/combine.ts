/**
 * Buckets folded into group totals by the totalizer's measure (common/measure.ts). Counts and sums are
 * pro-rated: the bucket that straddles the window's start adds its in-window share. Maxima and minima are
 * not: every bucket the window touches takes part whole, since a share of an extreme means nothing. Fractions
 * are kept until the caller rounds the totals.
 */
import type { Measure } from '../common/measure.js';
import type { WeightedBucket } from './totals.js';

/** A group so far: weighted lines and units (count, sum), or the extreme's units (max, min). */
export interface Folded {
  n: number;
  s: number;
}

const start = (measure: Measure): Folded => ({ n: 0, s: measure === 'max' ? -Infinity : measure === 'min' ? Infinity : 0 });

/** Folds a value (`n` lines, `s` units) into a group by the measure, with the bucket's weight. */
function add(f: Folded, n: number, s: number, weight: number, measure: Measure): void {
  if (measure === 'count' || measure === 'sum') {
    f.n += n * weight;
    f.s += s * weight;
  } else if (weight > 0) f.s = measure === 'max' ? Math.max(f.s, s) : Math.min(f.s, s);
}

/** Per group, its buckets folded; buckets without a value (failed reads) are left out. */
export function foldGroups(buckets: readonly WeightedBucket[], measure: Measure): Map<string, Folded> {
  const groups = new Map<string, Folded>();
  for (const b of buckets) {
    const k = b.key;
    if (!k.valued) continue;
    let f = groups.get(k.group);
    if (!f) groups.set(k.group, (f = start(measure)));
    add(f, k.n, k.s, b.weight, measure);
  }
  return groups;
}

/** Folded groups of several zones together: counts and sums added, extremes compared. */
export function mergeFolded(into: Map<string, Folded>, from: ReadonlyMap<string, Folded>, measure: Measure): void {
  for (const [g, f] of from) {
    const cur = into.get(g);
    if (!cur) into.set(g, { ...f });
    else add(cur, f.n, f.s, 1, measure);
  }
}

/** Sparkline columns of several zones together: counts and sums added, extremes compared (NaN: no bucket there). */
export function mergeSparks(into: Map<string, number[]>, from: ReadonlyMap<string, number[]>, measure: Measure): void {
  const additive = measure === 'count' || measure === 'sum';
  for (const [g, s] of from) {
    const cur = into.get(g);
    if (!cur) into.set(g, [...s]);
    else
      cur.forEach((x, i) => {
        const y = s[i]!;
        cur[i] = additive ? x + y : Number.isNaN(x) ? y : Number.isNaN(y) ? x : measure === 'max' ? Math.max(x, y) : Math.min(x, y);
      });
  }
}

/** What a group's measure is: lines for a count, units for the others. */
export const primary = (f: Folded, measure: Measure): number => (measure === 'count' ? f.n : f.s);

/**
 * The trend of a group: for counts and sums the last quarter of the window against a quarter of the whole
 * (above 1: rising); for maxima and minima the last quarter's extreme against the whole window's. Capped at 9.99.
 */
export function trendOf(measure: Measure, whole: number, recent: number | undefined): number {
  if (measure === 'count' || measure === 'sum') {
    const base = whole * 0.25;
    return base <= 0 ? 9.99 : Math.min(9.99, (recent ?? 0) / base);
  }
  if (recent === undefined || whole === 0) return 0;
  return Math.min(9.99, recent / whole);
}

/**
 * Per group, `bins` columns over the window, each bucket spread over the time it covers ([start, end), the part
 * inside the window): counts and sums in proportion to the overlap, extremes in every column they touch.
 */
export function sparkOf(buckets: readonly WeightedBucket[], measure: Measure, now: number, window: number, bins: number): Map<string, number[]> {
  const spark = new Map<string, number[]>();
  const floor = now - window;
  const width = window / bins;
  const additive = measure === 'count' || measure === 'sum';
  for (const b of buckets) {
    if (!b.key.valued) continue;
    const value = measure === 'count' ? b.key.n : b.key.s;
    const [from, to, span] = [Math.max(b.key.start, floor), Math.min(b.end, now), b.end - b.key.start];
    if (span <= 0 || to <= from) continue;
    let series = spark.get(b.key.group);
    if (!series) spark.set(b.key.group, (series = new Array<number>(bins).fill(additive ? 0 : NaN)));
    for (let i = Math.max(0, Math.floor((from - floor) / width)); i < bins && floor + i * width < to; i++) {
      const overlap = Math.min(floor + (i + 1) * width, to) - Math.max(floor + i * width, from);
      if (overlap <= 0) continue;
      if (additive) series[i]! += (value * overlap) / span;
      else series[i] = Number.isNaN(series[i]!) ? value : measure === 'max' ? Math.max(series[i]!, value) : Math.min(series[i]!, value);
    }
  }
  return spark;
}
