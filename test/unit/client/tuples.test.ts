import { describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { decodeResponse } from '../../../src/dns/response.js';
import { fieldSpec, shgetPattern } from '../../../src/client/matchspec.js';
import { TupleParser } from '../../../src/client/tuples.js';
import { selectBuckets, type BucketSet } from '../../../src/client/bucket-set.js';
import type { Measure } from '../../../src/common/measure.js';

const SPEC = ['web', null].map(fieldSpec);

/** A TXT answer of `tuples` (each record one tuple's strings), as rkvdns sends a shget page. */
function page(tuples: string[][]) {
  const message = dnsPacket.encode({
    type: 'response',
    id: 1,
    questions: [{ type: 'TXT', name: '0of2.web;*;*.shget.rkvdns.test' }],
    answers: tuples.map((t) => ({ type: 'TXT', name: '0of2.web;*;*.shget.rkvdns.test', ttl: 30, data: t.map((s) => Buffer.from(s, 'latin1')) })),
  });
  const r = decodeResponse(message);
  return { records: tuples, answer: { message: r.message, records: r.answers } };
}

/** What each path makes of the same tuples: key, start, value, group per bucket, in order, and what failed. */
function parsed(tuples: string[][], inPlace: boolean, measure: Measure = 'count') {
  const p = new TupleParser(shgetPattern(SPEC, ';'), SPEC, ';', measure);
  p.addPage(inPlace ? page(tuples) : { records: tuples });
  const set = p.finish();
  const { skipped } = selectBuckets(set, undefined);
  return {
    buckets: selected(set).map((i) => [set.keyOf(i), set.start[i], set.valueOf(i), set.groups[set.resGroup[set.res[i]!]!]]),
    skipped,
    failed: p.bucketsFailed,
  };
}

/** The selected buckets, in listing order. */
const selected = (set: BucketSet) => [...Array(set.count).keys()].filter((i) => set.isSelected(i));

describe('shget pages read in place', () => {
  it('give the same buckets as their text: timestamps, values, resources shared by their buckets', () => {
    const tuples = [
      ['10.0.0.1,200;web1', '1700000000', '5'],
      ['10.0.0.1,200;web1', '1700000060', '7'],
      ['10.0.0.2,404;web2', '1700000000', '-3'],
      ['10.0.0.2,404;web2', '0', '0'],
    ];
    const text = parsed(tuples, false);
    expect(parsed(tuples, true)).toEqual(text);
    expect(text.buckets).toEqual([
      ['web;10.0.0.1,200;web1;1700000000', 1700000000, { s: 0, n: 5 }, '10.0.0.1,200'],
      ['web;10.0.0.1,200;web1;1700000060', 1700000060, { s: 0, n: 7 }, '10.0.0.1,200'],
      ['web;10.0.0.2,404;web2;1700000000', 1700000000, { s: 0, n: -3 }, '10.0.0.2,404'],
      ['web;10.0.0.2,404;web2;0', 0, { s: 0, n: 0 }, '10.0.0.2,404'],
    ]);
  });

  it('leave to the text path what is not digits: leading zeros, bad values, a timestamp that is not one, extra values', () => {
    const tuples = [
      ['a;s', '0017', '1'],
      ['b;s', '1700000000', '08'],
      ['c;s', '1700000000', 'x'],
      ['d;s', 'soon', '1'],
      ['e;s', '1700000000', '1', '2'],
      ['f;s', '1700000000', '9999999999999999'],
    ];
    const text = parsed(tuples, false);
    expect(parsed(tuples, true)).toEqual(text);
    expect(text.failed.map((f) => f.key)).toEqual(['web;c;s;1700000000', 'web;e;s;1700000000']);
    expect(text.skipped.map((s) => s.key)).toEqual(['web;d;s;soon']);
    expect(text.buckets.find((b) => b[0] === 'web;a;s;0017')?.[1]).toBe(17);
  });

  it('sums: "units lines" in place as in text; a value without its line count fails in both', () => {
    const tuples = [
      ['a;s', '1700000000', '1500 3'],
      ['b;s', '1700000000', '-20 2'],
      ['c;s', '1700000000', '15'],
    ];
    const text = parsed(tuples, false, 'sum');
    expect(parsed(tuples, true, 'sum')).toEqual(text);
    expect(text.buckets.map((b) => b[2])).toEqual([{ s: 1500, n: 3 }, { s: -20, n: 2 }, undefined]);
  });

  it('a resource seen again on a later page is the same resource, whichever path read it', () => {
    const p = new TupleParser(shgetPattern(SPEC, ';'), SPEC, ';', 'count');
    p.addPage(page([['r;s', '100', '1']]));
    p.addPage({ records: [['r;s', '200', '2']] });
    p.addPage(page([['r;s', '300', '3']]));
    const set = p.finish();
    selectBuckets(set, undefined);
    expect(new Set(selected(set).map((i) => set.res[i])).size).toBe(1);
    expect(selected(set).map((i) => set.start[i])).toEqual([100, 200, 300]);
  });

  it('tens of thousands of resources over many pages, both paths: each resource and group found again, none made twice', () => {
    // 40,000 resources (more than the tables hold before they grow) of 10,000 groups, each resource seen on two pages;
    // short, or a third with long groups and a third long themselves.
    const short = [...Array(40_000).keys()].map((r) => `10.0.${Math.floor(r / 4) >> 8}.${Math.floor(r / 4) & 255},20${r % 4};web${r % 3}`);
    // Groups of ~33-78 bytes, resources of ~35-80: lengths of every size up to several times a short one.
    const long = short.map((r, i) => (i % 3 === 0 ? r.replace(',', `,${'g'.repeat(20 + (i % 45))}`) : i % 3 === 1 ? `${r}${'s'.repeat(20 + (i % 45))}` : r));
    // Tables grown as resources come, or made room for at once from the listing's count.
    for (const [resources, reserved] of [
      [short, 0],
      [short, 80_000],
      [long, 0],
      [long, 80_000],
    ] as const) {
      const p = new TupleParser(shgetPattern(SPEC, ';'), SPEC, ';', 'count');
      p.reserve(reserved);
      for (const [ts, inPlace] of [
        ['100', true],
        ['200', false],
      ] as const)
        for (let from = 0; from < resources.length; from += 1000) {
          const tuples = resources.slice(from, from + 1000).map((r) => [r, ts, '1']);
          p.addPage(inPlace ? page(tuples) : { records: tuples });
        }
      const set = p.finish();
      selectBuckets(set, undefined);
      expect(set.resources).toBe(resources.length);
      expect(new Set(set.groups).size).toBe(set.groups.length);
      expect(set.groups.length).toBe(new Set(resources.map((r) => r.split(';')[0])).size);
      expect(set.keyOf(0)).toBe(`web;${resources[0]};100`);
      expect(set.keyOf(set.count - 1)).toBe(`web;${resources.at(-1)};200`);
    }
  });
});
