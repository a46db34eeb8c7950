import { describe, expect, it } from 'vitest';
import { Debouncer } from '../../../src/rkvdns/debounce.js';
import { FLIGHT_MS } from '../../../src/rkvdns/flight.js';

describe('Debouncer', () => {
  it('admits the first query and drops repeats for 5 s', () => {
    let t = 0;
    const d = new Debouncer(100, () => t);
    expect(d.admit('x')).toBe(true);
    t += FLIGHT_MS - 1;
    expect(d.admit('x')).toBe(false);
    expect(d.admit('y')).toBe(true);
    t += 1;
    expect(d.admit('x')).toBe(true);
  });
});
