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

  it('returns null without a capturing star', () => {
    expect(compileShardPattern(Buffer.from('a;**;b'))).toBeNull();
    expect(compileShardPattern(Buffer.from('abc'))).toBeNull();
  });
});
