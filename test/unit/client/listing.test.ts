import { describe, expect, it } from 'vitest';
import { splitGlob } from '../../../src/client/listing.js';

/** Redis-style glob matching of `*`, `?` and backslash escapes (enough for these patterns). */
function globMatch(glob: Buffer, key: Buffer): boolean {
  const go = (g: number, k: number): boolean => {
    if (g === glob.length) return k === key.length;
    const c = glob[g]!;
    if (c === 0x2a) {
      for (let j = k; j <= key.length; j++) if (go(g + 1, j)) return true;
      return false;
    }
    if (k === key.length) return false;
    if (c === 0x3f) return go(g + 1, k + 1);
    if (c === 0x5c) return glob[g + 1] === key[k] && go(g + 2, k + 1);
    return c === key[k] && go(g + 1, k + 1);
  };
  return go(0, 0);
}

describe('splitGlob', () => {
  it('splits at the first unescaped star into PS and P<c>*S for all 256 bytes', () => {
    const parts = splitGlob(Buffer.from('a\\*b*;*', 'latin1'))!;
    expect(parts).toHaveLength(257);
    expect(parts[0]!.toString('latin1')).toBe('a\\*b;*');
    expect(parts.map((p) => p.toString('latin1'))).toContain('a\\*bx*;*');
    // Glob metacharacters become literals.
    expect(parts.map((p) => p.toString('latin1'))).toContain('a\\*b\\?*;*');
  });

  it('has nothing to split without a star', () => {
    expect(splitGlob(Buffer.from('a\\*b'))).toBeNull();
  });

  it('the parts together match exactly the keys the glob matches', () => {
    const glob = Buffer.from('w;*;*', 'latin1');
    const keys = ['w;;', 'w;a;1', 'w;*;2', 'w;?x;3', 'w;\\;4', 'w;\xff;5', 'v;a;1', 'w;a', 'w;;;'].map((k) => Buffer.from(k, 'latin1'));
    const parts = splitGlob(glob)!;
    for (const k of keys) expect(parts.some((p) => globMatch(p, k))).toBe(globMatch(glob, k));
  });
});
