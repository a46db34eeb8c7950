import { describe, expect, it } from 'vitest';
import { splitLines } from '../../../src/agent/lines.js';

describe('lines', () => {
  it('splits a datagram, drops CR and empty lines, escapes bytes outside 32..126', () => {
    expect(splitLines(Buffer.from('a\r\n\nb\x01\xffc\nlast', 'latin1'))).toEqual(['a', 'b\\x01\\xffc', 'last']);
    expect(splitLines(Buffer.from('tab\there'))).toEqual(['tab\\x09here']);
  });
});
