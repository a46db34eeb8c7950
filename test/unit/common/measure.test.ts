import { describe, expect, it } from 'vitest';
import { decodeBucket, formatUnits, MAX_UNITS, parseUnits } from '../../../src/common/measure.js';
import { formatDescription, parseDescription } from '../../../src/common/description.js';

describe('values as units of 10^-scale', () => {
  it.each([
    ['0.123', 3, 123],
    ['1.5', 3, 1500],
    ['42', 0, 42],
    ['-7.25', 2, -725],
    ['0.1235', 3, 124],
    ['-0.1235', 3, -124],
    ['0.1234', 3, 123],
    ['10000000', 0, 10_000_000],
    ['+3', 0, 3],
    ['007', 0, 7],
    ['1.', 1, 10],
  ])('%s at scale %i is %i units', (text, scale, units) => {
    expect(parseUnits(text, scale)).toBe(units);
  });

  it.each(['-', '', 'abc', '1e3', '.5', '1.2.3', ' 1', '0x10', '99999999999999999'])("'%s' is no value", (text) => {
    expect(parseUnits(text, 0)).toBeNull();
  });

  it('keeps sums of 3-decimal seconds exact where floating point drifts', () => {
    const values = Array.from({ length: 10 }, () => '0.100');
    expect(
      formatUnits(
        values.reduce((a, v) => a + parseUnits(v, 3)!, 0),
        3,
      ),
    ).toBe('1.000');
    expect(values.reduce((a, v) => a + Number(v), 0)).toBe(0.9999999999999999);
  });

  it('refuses what Lua cannot add exactly', () => {
    expect(parseUnits(String(MAX_UNITS), 0)).toBe(MAX_UNITS);
    expect(parseUnits(String(MAX_UNITS + 2), 0)).toBeNull();
  });

  it('reads a bucket by its measure, and refuses another shape', () => {
    expect(decodeBucket('count', '17')).toEqual({ s: 0, n: 17 });
    expect(decodeBucket('sum', '5120 3')).toEqual({ s: 5120, n: 3 });
    expect(decodeBucket('sum', '5120')).toBeNull();
    expect(decodeBucket('max', '-4')).toEqual({ s: -4, n: 0 });
    expect(decodeBucket('count', '5120 3')).toBeNull();
  });
});

describe('descriptions', () => {
  it('round-trip, the key pattern last whatever it holds', () => {
    const d = { measure: 'sum' as const, scale: 3, bucket: 900, ttl: 86400, keypattern: '<prefix>;<matched>{;<source>};<start_ts>', columns: ['ip', 'status'] };
    const text = formatDescription(d);
    expect(text).toBe('v=1 measure=sum scale=3 bucket=900 ttl=86400 columns=ip,status keypattern=<prefix>;<matched>{;<source>};<start_ts>');
    expect(parseDescription(text)).toEqual(d);
    expect(parseDescription(formatDescription({ ...d, columns: [] }))).toEqual({ ...d, columns: [] });
  });

  it.each([
    'v=2 measure=sum scale=0 bucket=1 ttl=1 keypattern=x',
    'v=1 measure=avg scale=0 bucket=1 ttl=1 keypattern=x',
    'v=1 measure=sum scale=x bucket=1 ttl=1 keypattern=x',
    'hello',
  ])("'%s' is not one", (text) => {
    expect(parseDescription(text)).toBeNull();
  });
});
