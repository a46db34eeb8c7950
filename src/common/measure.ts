/**
 * What a totalizer keeps per bucket, and how a bucket's value is written in Redis, for the agent that writes it
 * and totalize that reads it back through DNS:
 *   count   `N`      lines counted (INCRBY)
 *   sum     `S N`    the sum of the lines' values and how many lines: the mean is S / N
 *   max     `S`      the largest value
 *   min     `S`      the smallest value
 * Values are decimals kept exactly as integers of 10^-scale units (`0.123` s at scale 3 is 123), never as
 * floating point; every number stays within ±2^53 so that Redis's Lua adds them exactly.
 */

export const MEASURES = ['count', 'sum', 'max', 'min'] as const;
export type Measure = (typeof MEASURES)[number];

/** Decimal places a value may have, at most. */
export const MAX_SCALE = 9;
/** The largest magnitude a unit count may reach. */
export const MAX_UNITS = Number.MAX_SAFE_INTEGER;

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d*))?$/;
/** Plain integers short enough to be exact as they are: the common case (bytes), taken without the general path. */
const SHORT_INTEGER = /^\d{1,15}$/;

/**
 * `text` as units of 10^-scale, exactly; more decimals than `scale` are rounded half away from zero. Null for
 * anything that is not a plain decimal number, or one too large to keep exactly.
 */
export function parseUnits(text: string, scale: number): number | null {
  if (scale === 0 && SHORT_INTEGER.test(text)) return Number(text);
  const m = DECIMAL.exec(text);
  if (!m) return null;
  const frac = m[3] ?? '';
  const digits = (m[2]! + frac.slice(0, scale).padEnd(scale, '0')).replace(/^0+(?=\d)/, '');
  if (digits.length > 16) return null;
  let units = Number(digits);
  if (frac.length > scale && frac.charCodeAt(scale) >= 53) units += 1; // '5' and up rounds away from zero
  if (units > MAX_UNITS) return null;
  return m[1] === '-' && units !== 0 ? -units : units;
}

/** Units as a decimal with `scale` places: 123 at scale 3 is `0.123`. Fractions of a unit are rounded. */
export function formatUnits(units: number, scale: number, places = scale): string {
  const value = units / 10 ** scale;
  return value.toFixed(places);
}

/** A bucket's value as read back: `n` lines (count, sum), `s` units (sum, max, min). */
export interface BucketValue {
  s: number;
  n: number;
}

/** A bucket's value from its Redis text for `measure`; null when it is not that measure's shape. */
export function decodeBucket(measure: Measure, text: string): BucketValue | null {
  if (measure === 'count') return /^-?\d+$/.test(text) ? { s: 0, n: Number(text) } : null;
  if (measure === 'sum') {
    const m = /^(-?\d+) (\d+)$/.exec(text);
    return m ? { s: Number(m[1]), n: Number(m[2]) } : null;
  }
  return /^-?\d+$/.test(text) ? { s: Number(text), n: 0 } : null;
}
