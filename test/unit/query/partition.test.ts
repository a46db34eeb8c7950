import { describe, expect, it } from 'vitest';
import { fnv1a32, parsePartition, partitionOf, splitPartition } from '../../../src/query/partition.js';

const B = (s: string) => Buffer.from(s, 'latin1');

describe('partitions', () => {
  it('hashes with 32-bit FNV-1a (published test vectors)', () => {
    expect(fnv1a32(B(''))).toBe(0x811c9dc5);
    expect(fnv1a32(B('a'))).toBe(0xe40c292c);
    expect(fnv1a32(B('foobar'))).toBe(0xbf9cf968);
  });

  it.each([
    ['0of1', { index: 0, count: 1 }],
    ['3of4', { index: 3, count: 4 }],
    ['17OF64', { index: 17, count: 64 }],
    ['65535of65536', { index: 65535, count: 65536 }],
  ])('parses %s', (label, p) => expect(parsePartition(B(label))).toEqual(p));

  it.each([['4of4'], ['1of3'], ['0of0'], ['0of131072'], ['-1of2'], ['of2'], ['1of'], ['1 of 2'], ['x']])('refuses %s', (label) => {
    expect(typeof parsePartition(B(label))).toBe('string');
  });

  it('nests: partition i of n is partitions 2i and 2i+1 of 2n, for every key', () => {
    const misplaced: string[] = [];
    for (let k = 0; k < 5000; k++) {
      const key = B(`web_client;10.0.${k % 256}.${k >> 8},200;src${k % 7};${1700000000 + k}`);
      for (let n = 1; n < 65536; n *= 2) if (partitionOf(key, 2 * n) >> 1 !== partitionOf(key, n)) misplaced.push(`${key.toString()} n=${n}`);
    }
    expect(misplaced).toEqual([]);
  });

  it('spreads keys evenly enough for pages of similar size', () => {
    const counts = new Array<number>(16).fill(0);
    for (let k = 0; k < 16000; k++) counts[partitionOf(B(`t;h${k % 9};${1700000000 + k}`), 16)]!++;
    for (const c of counts) {
      expect(c).toBeGreaterThan(800);
      expect(c).toBeLessThan(1200);
    }
  });

  it('splits into the two halves, and not past 65536', () => {
    expect(splitPartition({ index: 3, count: 8 })).toEqual([
      { index: 6, count: 16 },
      { index: 7, count: 16 },
    ]);
    expect(splitPartition({ index: 0, count: 65536 })).toBeNull();
  });
});
