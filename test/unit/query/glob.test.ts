import { describe, expect, it } from 'vitest';
import { escapeGlob, globMatcher } from '../../../src/query/glob.js';

const B = (s: string) => Buffer.from(s, 'latin1');

describe('globMatcher (Redis glob semantics)', () => {
  it.each([
    ['web_*', 'web_client', true],
    ['web_*', 'dns_web_x', false],
    ['web_?', 'web_a', true],
    ['web_?', 'web_ab', false],
    ['h[ae]llo', 'hallo', true],
    ['h[ae]llo', 'hillo', false],
    ['h[^e]llo', 'hallo', true],
    ['h[^e]llo', 'hello', false],
    ['h[a-c]llo', 'hbllo', true],
    ['h[a-c]llo', 'hdllo', false],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['10.0.0.*', '10.0.0.1', true],
    ['10.0.0.*', '10x0x0x1', false],
    ['*;*', 'a;b', true],
    ['*', '', true],
    ['x\\ y', 'x y', true],
    ['\xff*', '\xff\x00', true],
  ])('%s matches %j: %s', (glob, key, expected) => {
    expect(globMatcher(B(glob))(B(key))).toBe(expected);
  });

  it('an escaped literal matches itself and only itself', () => {
    const literal = B('a*b?[c]\\d');
    const m = globMatcher(escapeGlob(literal));
    expect(m(literal)).toBe(true);
    expect(m(B('aXb?[c]\\d'))).toBe(false);
  });
});
