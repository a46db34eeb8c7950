import { describe, expect, it } from 'vitest';
import type { BucketValue } from '../../../src/common/measure.js';
import { foldGroups, mergeSparks, sparkOf, trendOf } from '../../../src/client/combine.js';
import { parseKeys, walkBuckets } from '../../../src/client/totals.js';

/** Keys of one resource `r` with buckets starting at `starts`, and their values. */
function setup(starts: number[], values: BucketValue[]) {
  const keys = starts.map((s) => `p;r;src;${s}`);
  const parsed = parseKeys(keys, [{ kind: 'literal', value: 'p' }, { kind: 'break' }], ';').keys;
  parsed.forEach((k, i) => (k.value = values[i]));
  return { parsed };
}

describe('folding buckets by measure', () => {
  // Buckets [1000, 2000), [2000, 3000), [3000, now 4000); a window of 2500 s starts at 1500: half the first.
  const { parsed } = setup(
    [1000, 2000, 3000],
    [
      { s: 100, n: 10 },
      { s: 50, n: 5 },
      { s: 7, n: 1 },
    ],
  );
  const buckets = walkBuckets(parsed, 4000, 2500);

  it('counts and sums pro-rate the bucket that straddles the window', () => {
    expect(foldGroups(buckets, 'count').get('r')).toEqual({ n: 5 + 5 + 1, s: 50 + 50 + 7 });
    expect(foldGroups(buckets, 'sum').get('r')).toEqual({ n: 11, s: 107 });
  });

  it('maxima and minima take every bucket the window touches whole', () => {
    expect(foldGroups(buckets, 'max').get('r')!.s).toBe(100);
    expect(foldGroups(buckets, 'min').get('r')!.s).toBe(7);
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
    const { parsed } = setup([0], [{ s: 0, n: 90 }]);
    const spark = sparkOf(walkBuckets(parsed, 900, 900), 'count', 900, 900, 3).get('r')!;
    expect(spark).toEqual([30, 30, 30]);
  });

  it('a bucket that began before the window shows only its share inside it', () => {
    // [0, 1200) with 120 lines, window [600, 1200) in 2 columns: 60 lines inside, 30 per column.
    const { parsed } = setup([0], [{ s: 0, n: 120 }]);
    expect(sparkOf(walkBuckets(parsed, 1200, 600), 'count', 1200, 600, 2).get('r')).toEqual([30, 30]);
  });

  it('extremes show in every column their bucket covers, none where none does', () => {
    const { parsed } = setup(
      [600, 900],
      [
        { s: 5, n: 0 },
        { s: 9, n: 0 },
      ],
    );
    const spark = sparkOf(walkBuckets(parsed, 1200, 1200), 'max', 1200, 1200, 4).get('r')!;
    expect(spark.slice(0, 2).every(Number.isNaN)).toBe(true);
    expect(spark.slice(2)).toEqual([5, 9]);
  });

  it('columns of several zones: counts added, extremes compared, a column without a bucket left to the other zone', () => {
    const counts = new Map([['g', [1, 2, 0]]]);
    mergeSparks(
      counts,
      new Map([
        ['g', [3, 0, 4]],
        ['h', [1, 1, 1]],
      ]),
      'count',
    );
    expect(Object.fromEntries(counts)).toEqual({ g: [4, 2, 4], h: [1, 1, 1] });
    const maxima = new Map([['g', [NaN, 5, 2]]]);
    mergeSparks(maxima, new Map([['g', [7, NaN, 3]]]), 'max');
    expect(maxima.get('g')).toEqual([7, 5, 3]);
    const minima = new Map([['g', [NaN, 5, 2]]]);
    mergeSparks(minima, new Map([['g', [7, NaN, 3]]]), 'min');
    expect(minima.get('g')).toEqual([7, 5, 2]);
  });
});
