import { describe, expect, it } from 'vitest';
import type { BucketValue, Measure } from '../../../src/common/measure.js';
import { foldWindow, GroupTotals, SparkTotals, trendOf } from '../../../src/client/combine.js';
import { selectBuckets } from '../../../src/client/bucket-set.js';
import { orderBuckets, parseKeys } from '../../../src/client/totals.js';

/** Keys of one resource `r` with buckets starting at `starts`, and their values. */
function setup(starts: number[], values: BucketValue[]) {
  const set = parseKeys(
    starts.map((s) => `p;r;src;${s}`),
    [{ kind: 'literal', value: 'p' }, { kind: 'break' }],
    ';',
  );
  values.forEach((v, i) => set.setValue(i, v));
  selectBuckets(set, undefined);
  return { set, order: orderBuckets(set) };
}

type Setup = ReturnType<typeof setup>;

/** Group r's totals over the window ending at `now`. */
function fold({ set, order }: Setup, measure: Measure, now: number, window: number) {
  const totals = new GroupTotals(measure);
  foldWindow(set, order, now, window, totals);
  return totals.get(set.groups.indexOf('r'));
}

/** Group r's sparkline columns, NaN (no bucket) as it is. */
function spark({ set, order }: Setup, measure: Measure, now: number, window: number, bins: number) {
  const columns = new SparkTotals(measure, now, window, bins);
  foldWindow(set, order, now, window, new GroupTotals(measure), columns);
  return [...columns.cells.subarray(0, bins)];
}

describe('folding buckets by measure', () => {
  // Buckets [1000, 2000), [2000, 3000), [3000, now 4000); a window of 2500 s starts at 1500: half the first.
  const buckets = setup(
    [1000, 2000, 3000],
    [
      { s: 100, n: 10 },
      { s: 50, n: 5 },
      { s: 7, n: 1 },
    ],
  );

  it('counts and sums pro-rate the bucket that straddles the window', () => {
    expect(fold(buckets, 'count', 4000, 2500)).toEqual({ n: 5 + 5 + 1, s: 50 + 50 + 7 });
    expect(fold(buckets, 'sum', 4000, 2500)).toEqual({ n: 11, s: 107 });
  });

  it('maxima and minima take every bucket the window touches whole', () => {
    expect(fold(buckets, 'max', 4000, 2500)!.s).toBe(100);
    expect(fold(buckets, 'min', 4000, 2500)!.s).toBe(7);
  });

  it('trend: a quarter of the total against the last quarter; for extremes, the last quarter against the whole', () => {
    expect(trendOf('sum', 100, 25)).toBe(1);
    expect(trendOf('count', 100, 50)).toBe(2);
    expect(trendOf('count', 0, 0)).toBe(9.99);
    expect(trendOf('max', 100, 50)).toBe(0.5);
    expect(trendOf('min', 10, undefined)).toBe(0);
  });
});

describe('sparklines', () => {
  it('spread each bucket over the time it covers: a 15-minute bucket under a 15-minute window fills every column', () => {
    // One bucket from 900 s before now; window 900 s in 3 columns of 300 s.
    expect(spark(setup([0], [{ s: 0, n: 90 }]), 'count', 900, 900, 3)).toEqual([30, 30, 30]);
  });

  it('a bucket that began before the window shows only its share inside it', () => {
    // [0, 1200) with 120 lines, window [600, 1200) in 2 columns: 60 lines inside, 30 per column.
    expect(spark(setup([0], [{ s: 0, n: 120 }]), 'count', 1200, 600, 2)).toEqual([30, 30]);
  });

  it('extremes show in every column their bucket covers, none where none does', () => {
    const buckets = setup(
      [600, 900],
      [
        { s: 5, n: 0 },
        { s: 9, n: 0 },
      ],
    );
    const columns = spark(buckets, 'max', 1200, 1200, 4);
    expect(columns.slice(0, 2).every(Number.isNaN)).toBe(true);
    expect(columns.slice(2)).toEqual([5, 9]);
  });

  it('columns of several zones: counts added, extremes compared, a column without a bucket left to the other zone', () => {
    /** Columns of groups (by number) as a zone's walk left them. */
    const zone = (measure: Measure, rows: number[][]) => {
      const z = new SparkTotals(measure, 3, 3, 3);
      z.cells = Float64Array.from(rows.flat());
      return z;
    };
    // Zone two's g and h are numbers 0 and 1; g is number 0 in zone one too, h becomes number 1.
    const counts = zone('count', [[1, 2, 0]]);
    counts.merge(
      zone('count', [
        [3, 0, 4],
        [1, 1, 1],
      ]),
      [0, 1],
    );
    expect([counts.row(0), counts.row(1)]).toEqual([
      [4, 2, 4],
      [1, 1, 1],
    ]);
    const maxima = zone('max', [[NaN, 5, 2]]);
    maxima.merge(zone('max', [[7, NaN, 3]]), [0]);
    expect([...maxima.cells.subarray(0, 3)]).toEqual([7, 5, 3]);
    const minima = zone('min', [[NaN, 5, 2]]);
    minima.merge(zone('min', [[7, NaN, 3]]), [0]);
    expect([...minima.cells.subarray(0, 3)]).toEqual([7, 5, 2]);
  });
});
