import { describe, expect, it } from 'vitest';
import { foldLabel } from '../../../src/query/casefold.js';

describe('case folding', () => {
  it.each([
    ['none', 'AbC;x', 'AbC;x'],
    ['lower', 'AbC;X', 'abc;x'],
    ['upper', 'AbC;x', 'ABC;X'],
    // The example from the specification.
    ['escape', '.+-tests._-F-O.LD_.e+s-c+ape', 'tests_foLD_eScApe'],
    ['escape', 'abc', ''],
    ['escape', '!^_^h!^ello', 'H^ello'],
  ] as const)('%s %s → %s', (mode, input, expected) => {
    expect(foldLabel(Buffer.from(input), mode)?.toString()).toBe(expected);
  });

  it('escape mode leaves non-ASCII bytes untouched and rejects labels shorter than the escape triple', () => {
    expect(foldLabel(Buffer.from([0x2e, 0x2b, 0x2d, 0xff, 0x00, 0x2b, 0x61]), 'escape')).toEqual(Buffer.from([0xff, 0x00, 0x41]));
    expect(foldLabel(Buffer.from('ab'), 'escape')).toBeNull();
  });

  it('lower/upper touch only ASCII letters', () => {
    expect(foldLabel(Buffer.from([0xc4, 0x41, 0x00]), 'lower')).toEqual(Buffer.from([0xc4, 0x61, 0x00]));
  });
});
