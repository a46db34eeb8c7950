import { describe, expect, it } from 'vitest';
import { fieldSpec, GroupOfBytes, groupOf, keysGlob, parseFieldToken, shgetPattern, validateSpec } from '../../../src/client/matchspec.js';
import { orderBuckets, parseKeys, walkBuckets } from '../../../src/client/totals.js';
import { selectBuckets } from '../../../src/client/bucket-set.js';
import { foldWindow, GroupTotals, trendOf } from '../../../src/client/combine.js';
import { sparkline } from '../../../src/client/render.js';
import { compileShardPattern } from '../../../src/query/shards.js';

const WEB = ['web_client', null].map(fieldSpec);

describe('match specs', () => {
  it('upstream [prefix, None] lists prefix;*;* and groups by the second field', () => {
    expect(keysGlob(WEB, ';')).toBe('web_client;*;*');
    expect(groupOf(['web_client', '10.0.0.224,200', 'sophia'], WEB, ';')).toBe('10.0.0.224,200');
    expect(groupOf(['web_page', 'x', 'sophia'], WEB, ';')).toBeNull();
  });

  it('literal, break, ignore, grouped and ungrouped partials', () => {
    const spec = ['p', 'ab*', 'ignore', 'x**', null].map((t) => (t === null ? fieldSpec(null) : parseFieldToken(t)));
    expect(keysGlob(spec, ';')).toBe('p;ab*;*;x*;*;*');
    expect(groupOf(['p', 'abc', 'any', 'xyz', 'b'], spec, ';')).toBe('abc;b');
    expect(groupOf(['p', 'zzz', 'any', 'xyz', 'b'], spec, ';')).toBeNull();
    expect(groupOf(['p', 'abc', 'any', 'yyy', 'b'], spec, ';')).toBeNull();
  });

  it('grouping a resource by its bytes gives what groupOf gives its fields, field count included', () => {
    const spec = ['p', 'ab*', 'ignore', 'x**', null].map((t) => (t === null ? fieldSpec(null) : parseFieldToken(t)));
    const bytes = GroupOfBytes.of(spec, ';')!;
    const resources = [
      'p;abc;any;xyz;b',
      'p;zzz;any;xyz;b',
      'p;abc;any;yyy;b',
      'p;ab;;x;',
      'p;abc;any;xyz',
      'q;abc;any;xyz;b',
      'pp;abc;any;xyz;b',
      'p;abc;any;xyz;b;more',
      '',
      'p;é;any;xé;ü',
      'p;abé;any;xé;ü',
    ];
    for (const r of resources) {
      const len = bytes.group(Buffer.from(`[${r}]`, 'latin1'), 1, r.length + 1);
      expect([len < 0 ? null : bytes.bytes.toString('latin1', 0, len), bytes.fields]).toEqual([groupOf(r.split(';'), spec, ';'), r.split(';').length]);
    }
    // Only where a character is a byte: a spec text or a delimiter beyond latin1 keeps to the strings.
    expect(GroupOfBytes.of([fieldSpec('ł'), fieldSpec(null)], ';')).toBeNull();
    expect(GroupOfBytes.of(spec, '::')).toBeNull();
  });

  it('glob metacharacters in literals are escaped for Redis', () => {
    expect(keysGlob([fieldSpec('a?[b]'), fieldSpec(null)], ';')).toBe('a\\?\\[b\\];*;*');
  });

  it('a spec needs a break field', () => {
    expect(() => validateSpec([fieldSpec('p'), parseFieldToken('ignore')])).toThrow(/at least one break/);
    expect(() => fieldSpec('a*b*')).toThrow(/more than one wildcard/);
  });

  it('the shget pattern captures every open field and rebuilds each key exactly', () => {
    const spec = ['web_client', 'ab**', null].map((t) => (t === null ? fieldSpec(null) : fieldSpec(t)));
    const { pattern, rebuild } = shgetPattern(spec, ';');
    expect(pattern).toBe('web_client;ab*;*;*');
    const key = 'web_client;abc;10.0.0.1,200;sophia;1700000000';
    const captures = compileShardPattern(Buffer.from(pattern))!.matchText(Buffer.from(key))!;
    expect(rebuild(captures)).toBe(key);
  });
});

/** Keys parsed and selected, each resource's buckets ordered. */
function parsed(ks: readonly string[]) {
  const set = parseKeys(ks, WEB, ';');
  selectBuckets(set, undefined);
  return { set, order: orderBuckets(set) };
}

/** The buckets a window takes, in walk order: [key, weight]. */
function walked(ks: readonly string[], now: number, window: number): [string, number][] {
  const { set, order } = parsed(ks);
  const out: [string, number][] = [];
  walkBuckets(set, order, now, window, (i, weight) => out.push([set.keyOf(i), weight]));
  return out;
}

/** Per group, the counts of a window over keys with these values (keys without one were not read). */
const total = (ks: string[], values: Record<string, number>, now: number, window: number) => {
  const { set, order } = parsed(ks);
  for (let i = 0; i < set.count; i++) {
    const v = values[set.keyOf(i)];
    set.setValue(i, v === undefined ? undefined : { n: v, s: 0 });
  }
  const totals = new GroupTotals('count');
  foldWindow(set, order, now, window, totals);
  return Object.fromEntries(set.groups.flatMap((g, id) => (totals.get(id) ? [[g, totals.get(id)!.n]] : [])));
};

describe('bucket walk (hand-computed)', () => {
  it('no keys, no buckets; the buckets of a resource are gathered wherever the listing has them', () => {
    expect(walked([], 10_000, 3000)).toEqual([]);
    const ks = ['web_client;a;s;8000', 'web_client;b;s;9500', 'web_client;x;s;1', 'web_client;a;s;9000'];
    expect(walked(ks, 10_000, 3000)).toEqual([
      ['web_client;a;s;9000', 1],
      ['web_client;a;s;8000', 1],
      ['web_client;b;s;9500', 1],
      // x's only bucket straddles the floor: its share from the floor to now.
      ['web_client;x;s;1', 3000 / (10_000 - 1)],
    ]);
  });

  it('each resource newest first, however many buckets it has and in whatever order they were listed', () => {
    // Runs of every length around the insertion sort's limit, the buckets of each listed in a shuffled order.
    const lengths = [1, 2, 3, 17, 63, 64, 65, 200];
    const keys: string[] = [];
    lengths.forEach((n, r) => {
      const starts = Array.from({ length: n }, (_, b) => 1000 + 10 * b);
      for (let i = n - 1; i > 0; i--) {
        const j = (i * 7919 + r) % (i + 1);
        [starts[i], starts[j]] = [starts[j]!, starts[i]!];
      }
      for (const s of starts) keys.push(`web_client;g${r};s;${s}`);
    });
    const { set, order } = parsed(keys);
    lengths.forEach((n, r) => {
      const run = [...order.at.subarray(order.from[r], order.from[r + 1])].map((i) => set.keyOf(i));
      expect(run).toEqual(Array.from({ length: n }, (_, b) => `web_client;g${r};s;${1000 + 10 * (n - 1 - b)}`));
    });
  });

  it('buckets inside the window count in full; the straddling one pro rata; older ones not at all', () => {
    // now 10000, window 3000 → floor 7000. Buckets of one resource start 9000, 8000, 6000, 5000.
    // 9000 and 8000 count fully (5 + 7); 6000 spans [6000, 8000) of which 1000 s lie inside: 10 × 0.5 = 5.
    const ks = ['web_client;a;s;9000', 'web_client;a;s;8000', 'web_client;a;s;6000', 'web_client;a;s;5000'];
    const v = { [ks[0]!]: 5, [ks[1]!]: 7, [ks[2]!]: 10, [ks[3]!]: 1000 };
    expect(total(ks, v, 10000, 3000)).toEqual({ a: 17 });
    expect(walked(ks, 10000, 3000).map(([, weight]) => weight)).toEqual([1, 1, 0.5]);
  });

  it('a gap between buckets: the straddling bucket ends where the next newer one starts', () => {
    // floor 7000; buckets 9500 and 4000 (gap): the older spans [4000, 9500): 2500/5500 inside.
    const ks = ['web_client;a;s;9500', 'web_client;a;s;4000'];
    const sums = total(ks, { [ks[0]!]: 2, [ks[1]!]: 11 }, 10000, 3000);
    expect(sums.a).toBeCloseTo(2 + 11 * (2500 / 5500), 10);
  });

  it('only the newest bucket, straddling the floor: its share is up to now', () => {
    const ks = ['web_client;a;s;6000'];
    expect(total(ks, { [ks[0]!]: 8 }, 10000, 3000)).toEqual({ a: 6 });
  });

  it('a restart bucket (first-event mode) between regular ones is just another bucket', () => {
    // Buckets 9000, 8700 (agent restarted), 7900; floor 8000: 9000 and 8700 in full, 7900 spans [7900, 8700): 700/800.
    const ks = ['web_client;a;s;9000', 'web_client;a;s;8700', 'web_client;a;s;7900'];
    const sums = total(ks, { [ks[0]!]: 1, [ks[1]!]: 3, [ks[2]!]: 8 }, 10000, 2000);
    expect(sums.a).toBeCloseTo(1 + 3 + 8 * (700 / 800), 10);
  });

  it('several sources of one group add up; each source walks its own buckets', () => {
    const ks = ['web_client;a;s1;9000', 'web_client;a;s1;6000', 'web_client;a;s2;9500', 'web_client;b;s2;9500'];
    const v = { [ks[0]!]: 4, [ks[1]!]: 4, [ks[2]!]: 3, [ks[3]!]: 1 };
    // s1: 4 + 4 × (9000−7000)/(9000−6000); s2: 3.
    const sums = total(ks, v, 10000, 3000);
    expect(sums.a).toBeCloseTo(4 + 4 * (2 / 3) + 3, 10);
    expect(sums.b).toBe(1);
  });

  it('keys with the wrong field count are skipped; mixed counts without a field count are an error naming them', () => {
    expect(() => selectBuckets(parseKeys(['web_client;a;s;1', 'web_client;a;1'], WEB, ';'), undefined)).toThrow(
      /different numbers of fields: 4 \(e\.g\. web_client;a;s;1\), 3 \(e\.g\. web_client;a;1\)/,
    );
    const set = parseKeys(['web_client;a;s;1', 'web_client;a;1', 'web_client;a;s;x'], WEB, ';');
    const { skipped } = selectBuckets(set, 4);
    expect([...orderBuckets(set).at].map((i) => set.keyOf(i))).toEqual(['web_client;a;s;1']);
    expect(skipped.map((s) => s.reason)).toEqual(['has 3 fields, expected 4', "last field 'x' is not a timestamp"]);
  });
});

describe('trend and sparkline', () => {
  it('trend = recent / (count × 0.25), capped at 9.99, 9.99 on a zero base', () => {
    expect(trendOf('count', 100, 25)).toBe(1);
    expect(trendOf('count', 100, 50)).toBe(2);
    expect(trendOf('count', 10, 100)).toBe(9.99);
    expect(trendOf('count', 0, 0)).toBe(9.99);
  });
  it('sparkline scales to the largest bin', () => {
    expect(sparkline([0, 1, 2, 4, 8])).toBe('▁▂▃▅█');
    expect(sparkline([0, 0])).toBe('▁▁');
  });
});
