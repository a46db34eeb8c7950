import { describe, expect, it } from 'vitest';
import { compileKeyPattern, renderKey } from '../../../src/agent/keypattern.js';

describe('key patterns', () => {
  it.each([
    ['<prefix>;<matched>;<source>;<start_ts>', { prefix: 'p', matched: 'm', source: 's', start_ts: '1' }, 'p;m;s;1'],
    ['<prefix>;<matched>{;<source>};<start_ts>', { prefix: 'p', matched: 'm', start_ts: '1' }, 'p;m;1'],
    ['<prefix>;<matched>{;<source>};<start_ts>', { prefix: 'p', matched: 'm', source: 's', start_ts: '1' }, 'p;m;s;1'],
    ['x{-<a>-<b>}y', { a: 'A', b: 'B' }, 'x-A-By'],
    ['x{-<a>-<b>}y', { b: 'B' }, 'xy'],
    ['lit', {}, 'lit'],
  ])('%s', (src, values, expected) => {
    expect(renderKey(compileKeyPattern(src), values)).toEqual({ key: expected });
  });

  it('a required substitution without a value is reported, not rendered', () => {
    expect(renderKey(compileKeyPattern('<prefix>;<matched>'), { prefix: 'p' })).toEqual({ missing: 'matched' });
    expect(renderKey(compileKeyPattern('<prefix>;<matched>'), { prefix: 'p', matched: '' })).toEqual({ missing: 'matched' });
  });

  it.each([
    ['<prefix', /unbalanced '<'/],
    ['prefix>', /unbalanced '>'/],
    ['<a<b>>', /substitution inside a substitution/],
    ['{;<a>', /unbalanced '\{'/],
    [';<a>}', /unbalanced '\}'/],
    ['{;x}', /optional group without a substitution/],
    ['{a{<b>}}', /nested optional group/],
    ['<a b>', /bad substitution name/],
  ])('%s is a parse error', (src, message) => {
    expect(() => compileKeyPattern(src)).toThrow(message);
  });

  it('knows which substitutions are required', () => {
    const p = compileKeyPattern('<prefix>;<matched>{;<source>};<start_ts>');
    expect([...p.required].sort()).toEqual(['matched', 'prefix', 'start_ts']);
    expect(p.names.has('source')).toBe(true);
  });
});
