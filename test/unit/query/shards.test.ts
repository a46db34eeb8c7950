import { describe, expect, it } from 'vitest';
import { compileShardPattern } from '../../../src/query/shards.js';

describe('shard patterns', () => {
  it('captures single stars, skips double stars, collapses runs for Redis', () => {
    const p = compileShardPattern(Buffer.from('logins;**;*;*;*;**;*'))!;
    expect(p.glob.toString()).toBe('logins;*;*;*;*;*;*');
    expect(p.captures).toBe(4);
    expect(p.matchText(Buffer.from('logins;ssh;t;10.0.0.224;m3047;flame;1755290511'))).toEqual(['t', '10.0.0.224', 'm3047', '1755290511']);
  });

  it('matches literal parts literally, regex metacharacters included', () => {
    const p = compileShardPattern(Buffer.from('a.(b)+?;*'))!;
    expect(p.glob.toString()).toBe('a.(b)+\\?;*');
    expect(p.matchText(Buffer.from('a.(b)+?;x'))).toEqual(['x']);
    expect(p.matchText(Buffer.from('aX(b)+?;x'))).toBeNull();
    expect(p.matchText(Buffer.from('a.(bb)+?;x'))).toBeNull();
  });

  it('works on arbitrary bytes', () => {
    const p = compileShardPattern(Buffer.from([0x00, 0xff, 0x2a]))!;
    expect(p.matchText(Buffer.from([0x00, 0xff, 0x80, 0x0a]))).toEqual(['\x80\n']);
  });

  it('the byte matcher gives the regex match: the same captures, as views of the key, or null where it gives null', () => {
    // Every pattern of up to five parts over a small alphabet, against every key of up to six characters: ties and
    // overlaps included (a literal that could sit in several places, literals that repeat, empty captures).
    const alphabet = ['a', ';', 'ab'];
    const parts = ['*', '**', ...alphabet];
    const patterns = new Set<string>();
    const grow = (p: string, n: number) => {
      if (p.includes('*')) patterns.add(p);
      if (n > 0) for (const x of parts) grow(p + x, n - 1);
    };
    grow('', 5);
    const keys: string[] = [''];
    for (let len = 1; len <= 6; len++) for (let i = 0; i < 2 ** len; i++) keys.push([...Array(len).keys()].map((b) => ((i >> b) & 1 ? 'a' : ';')).join(''));
    let compared = 0;
    let matched = 0;
    for (const text of patterns) {
      const p = compileShardPattern(Buffer.from(text, 'latin1'));
      if (!p) continue;
      for (const k of keys) {
        const key = Buffer.from(k, 'latin1');
        const views = p.match(key);
        expect([text, k, views && views.map((v) => v.toString('latin1'))]).toEqual([text, k, p.matchText(key)]);
        if (views) matched++;
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(100_000);
    expect(matched).toBeGreaterThan(10_000);
  });

  it('returns null without a capturing star', () => {
    expect(compileShardPattern(Buffer.from('a;**;b'))).toBeNull();
    expect(compileShardPattern(Buffer.from('abc'))).toBeNull();
  });
});
