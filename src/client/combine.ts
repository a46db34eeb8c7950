/**
 * Buckets folded into group totals by the totalizer's measure (common/measure.ts). Counts and sums are
 * pro-rated: the bucket that straddles the window's start adds its in-window share. Maxima and minima are
 * not: every bucket the window touches takes part whole, since a share of an extreme means nothing. Fractions
 * are kept until the caller rounds the totals.
 */
import type { Measure } from '../common/measure.js';
import type { ParsedKey, WeightedBucket } from './totals.js';

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

/** Buckets folded into their groups one by one, as a walk finds them; buckets without a value (failed reads) are left out. */
export class GroupFold {
  readonly groups = new Map<string, Folded>();

  constructor(private readonly measure: Measure) {}

  add(k: ParsedKey, weight: number): void {
    if (!k.valued) return;
    let f = this.groups.get(k.group);
    if (!f) this.groups.set(k.group, (f = start(this.measure)));
    add(f, k.n, k.s, weight, this.measure);
  }
}

/** Per group, its buckets folded. */
export function foldGroups(buckets: readonly WeightedBucket[], measure: Measure): Map<string, Folded> {
  const fold = new GroupFold(measure);
  for (const b of buckets) fold.add(b.key, b.weight);
  return fold.groups;
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
 * inside the window): counts and sums in proportion to the overlap, extremes in every column they touch. Buckets
 * are added one by one, as a walk finds them.
 */
export class SparkFold {
  readonly spark = new Map<string, number[]>();
  private readonly floor: number;
  private readonly width: number;
  private readonly additive: boolean;

  constructor(
    private readonly measure: Measure,
    private readonly now: number,
    window: number,
    private readonly bins: number,
  ) {
    this.floor = now - window;
    this.width = window / bins;
    this.additive = measure === 'count' || measure === 'sum';
  }

  add(k: ParsedKey, end: number): void {
    if (!k.valued) return;
    const { floor, width, bins, measure } = this;
    const value = measure === 'count' ? k.n : k.s;
    const from = Math.max(k.start, floor);
    const to = Math.min(end, this.now);
    const span = end - k.start;
    if (span <= 0 || to <= from) return;
    let series = this.spark.get(k.group);
    if (!series) this.spark.set(k.group, (series = new Array<number>(bins).fill(this.additive ? 0 : NaN)));
    for (let i = Math.max(0, Math.floor((from - floor) / width)); i < bins && floor + i * width < to; i++) {
      const overlap = Math.min(floor + (i + 1) * width, to) - Math.max(floor + i * width, from);
      if (overlap <= 0) continue;
      if (this.additive) series[i]! += (value * overlap) / span;
      else series[i] = Number.isNaN(series[i]!) ? value : measure === 'max' ? Math.max(series[i]!, value) : Math.min(series[i]!, value);
    }
  }
}

export function sparkOf(buckets: readonly WeightedBucket[], measure: Measure, now: number, window: number, bins: number): Map<string, number[]> {
  const fold = new SparkFold(measure, now, window, bins);
  for (const b of buckets) fold.add(b.key, b.end);
  return fold.spark;
}
