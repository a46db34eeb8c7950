/**
 * Buckets folded into group totals by the totalizer's measure (common/measure.ts). Counts and sums are
 * pro-rated: the bucket that straddles the window's start adds its in-window share. Maxima and minima are
 * not: every bucket the window touches takes part whole, since a share of an extreme means nothing. Fractions
 * are kept until the caller rounds the totals.
 */
import type { Measure } from '../common/measure.js';
import type { BucketSet } from './bucket-set.js';
import { walkBuckets, type BucketOrder } from './totals.js';

/** A group's folded buckets: weighted lines and units (count, sum), or the extreme's units (max, min). */
export interface Folded {
  n: number;
  s: number;
}

function grown(a: Float64Array<ArrayBuffer>, need: number, fill: number): Float64Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const bigger = new Float64Array(Math.max(need, a.length * 2)).fill(fill);
  bigger.set(a);
  return bigger;
}

/**
 * Per group (by its number), the buckets folded so far, as a walk finds them; buckets without a value (failed
 * reads, NaN lines) are left out, and a group none of whose buckets had one is not `seen`.
 */
export class GroupTotals {
  n = new Float64Array(0);
  s = new Float64Array(0);
  seen = new Uint8Array(0);
  private readonly s0: number;

  constructor(
    private readonly measure: Measure,
    size = 0,
  ) {
    this.s0 = measure === 'max' ? -Infinity : measure === 'min' ? Infinity : 0;
    this.fit(size);
  }

  add(g: number, n: number, s: number, weight: number): void {
    if (Number.isNaN(n)) return;
    if (g >= this.seen.length) this.fit(g + 1);
    this.seen[g] = 1;
    if (this.measure === 'count' || this.measure === 'sum') {
      this.n[g]! += n * weight;
      this.s[g]! += s * weight;
    } else if (weight > 0) this.s[g] = this.measure === 'max' ? Math.max(this.s[g]!, s) : Math.min(this.s[g]!, s);
  }

  get(g: number): Folded | undefined {
    return this.seen[g] ? { n: this.n[g]!, s: this.s[g]! } : undefined;
  }

  /** Another zone's groups, renumbered by `to`: counts and sums added, extremes compared. */
  merge(from: GroupTotals, to: ArrayLike<number>): void {
    for (let g = 0; g < from.seen.length; g++) if (from.seen[g]) this.add(to[g]!, from.n[g]!, from.s[g]!, 1);
  }

  private fit(size: number): void {
    if (size <= this.seen.length) return;
    const seen = new Uint8Array(Math.max(size, this.seen.length * 2));
    seen.set(this.seen);
    this.seen = seen;
    this.n = grown(this.n, seen.length, 0);
    this.s = grown(this.s, seen.length, this.s0);
  }
}

/** The buckets of a window over `set` (ordered, see orderBuckets) folded into their groups' totals, and sparkline columns. */
export function foldWindow(set: BucketSet, order: BucketOrder, now: number, window: number, totals: GroupTotals, spark?: SparkTotals | null): void {
  const { res, resGroup, n, s, start } = set;
  walkBuckets(set, order, now, window, (i, weight, end) => {
    const g = resGroup[res[i]!]!;
    totals.add(g, n[i]!, s[i]!, weight);
    spark?.add(g, n[i]!, s[i]!, start[i]!, end);
  });
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
 * inside the window): counts and sums in proportion to the overlap, extremes in every column they touch (NaN in a
 * column no bucket touches). Buckets are added one by one, as a walk finds them.
 */
export class SparkTotals {
  /** Group g's columns are cells[g × bins, (g + 1) × bins). */
  cells = new Float64Array(0);
  private readonly floor: number;
  private readonly width: number;
  private readonly additive: boolean;

  constructor(
    private readonly measure: Measure,
    private readonly now: number,
    window: number,
    readonly bins: number,
    size = 0,
  ) {
    this.floor = now - window;
    this.width = window / bins;
    this.additive = measure === 'count' || measure === 'sum';
    this.fit(size);
  }

  /** A bucket of group g from `start` to `end` with its lines `n` and units `s`. */
  add(g: number, n: number, s: number, start: number, end: number): void {
    if (Number.isNaN(n)) return;
    const { floor, width, bins, measure } = this;
    const value = measure === 'count' ? n : s;
    const from = Math.max(start, floor);
    const to = Math.min(end, this.now);
    const span = end - start;
    if (span <= 0 || to <= from) return;
    this.fit(g + 1);
    const cells = this.cells;
    const row = g * bins;
    for (let i = Math.max(0, Math.floor((from - floor) / width)); i < bins && floor + i * width < to; i++) {
      const overlap = Math.min(floor + (i + 1) * width, to) - Math.max(floor + i * width, from);
      if (overlap <= 0) continue;
      const c = row + i;
      if (this.additive) cells[c]! += (value * overlap) / span;
      else cells[c] = Number.isNaN(cells[c]!) ? value : measure === 'max' ? Math.max(cells[c]!, value) : Math.min(cells[c]!, value);
    }
  }

  /** Group g's columns: NaN (no bucket) shown as 0. */
  row(g: number): number[] {
    const out = new Array<number>(this.bins);
    for (let i = 0; i < this.bins; i++) {
      const v = (g + 1) * this.bins <= this.cells.length ? this.cells[g * this.bins + i]! : NaN;
      out[i] = Number.isNaN(v) ? 0 : v;
    }
    return out;
  }

  /** Another zone's columns, renumbered by `to`: counts and sums added, extremes compared, NaN left to the other. */
  merge(from: SparkTotals, to: ArrayLike<number>): void {
    const bins = this.bins;
    for (let g = 0; g * bins < from.cells.length; g++) {
      const into = to[g]!;
      this.fit(into + 1);
      for (let i = 0; i < bins; i++) {
        const [x, y] = [this.cells[into * bins + i]!, from.cells[g * bins + i]!];
        this.cells[into * bins + i] = this.additive
          ? x + y
          : Number.isNaN(x)
            ? y
            : Number.isNaN(y)
              ? x
              : this.measure === 'max'
                ? Math.max(x, y)
                : Math.min(x, y);
      }
    }
  }

  private fit(groups: number): void {
    if (groups * this.bins <= this.cells.length) return;
    const cells = new Float64Array(Math.max(groups, (2 * this.cells.length) / this.bins) * this.bins).fill(this.additive ? 0 : NaN);
    cells.set(this.cells);
    this.cells = cells;
  }
}
