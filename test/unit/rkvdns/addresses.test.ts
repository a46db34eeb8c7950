import { describe, expect, it } from 'vitest';
import { toA, toAAAA } from '../../../src/rkvdns/addresses.js';

const hex = (b: Buffer | null) => b?.toString('hex') ?? null;

describe('address conversion', () => {
  it.each([
    ['3', '00000003'],
    ['16909060', '01020304'],
    ['1.2.3.4', '01020304'],
    ['4294967295', 'ffffffff'],
    ['4294967296', null],
    ['-1', null],
    ['1.2.3', null],
    ['hello', null],
    ['::1', null],
  ])('A %s → %s', (v, expected) => expect(hex(toA(Buffer.from(v)))).toBe(expected));

  it.each([
    ['3', '00000000000000000000000000000003'],
    ['::1', '00000000000000000000000000000001'],
    ['2001:db8::8:800:200c:417a', '20010db80000000000080800200c417a'],
    ['::ffff:1.2.3.4', '00000000000000000000ffff01020304'],
    ['fe80::', 'fe800000000000000000000000000000'],
    ['340282366920938463463374607431768211455', 'ffffffffffffffffffffffffffffffff'],
    ['340282366920938463463374607431768211456', null],
    ['1.2.3.4', null],
    ['x', null],
  ])('AAAA %s → %s', (v, expected) => expect(hex(toAAAA(Buffer.from(v)))).toBe(expected));
});
