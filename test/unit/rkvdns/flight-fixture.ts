/** A flight table on a clock of the test's own, and results with a TTL: for the flight tests. */
import { Flights, type Aging, type HeldResult } from '../../../src/rkvdns/flight.js';

/** A result with a TTL in seconds; ageing lowers it the way a cache would. */
export interface Answer {
  value: string;
  ttl: number;
}
export const aging: Aging<Answer> = { lifetimeMs: (a) => a.ttl * 1000, aged: (a, s) => ({ ...a, ttl: a.ttl - s }) };

/** Where run() writes how a result given at once is held. */
export const holder = (): HeldResult<Answer> => ({ servedUntil: 0, agesAt: 0, refreshAt: 0, successor: null });

export function setup(a: Aging<Answer> | null = aging, max = 100, prefetch = false) {
  let t = 1_000_000;
  let reads = 0;
  const flights = new Flights<Answer>(a, { maxFlights: max, prefetch }, () => t);
  const held = holder();
  const ask = (id: string, ttl = 30) => flights.run(id, async () => ({ value: `${id}#${++reads}`, ttl }), undefined, held);
  return {
    flights,
    held,
    ask,
    advance: (ms: number) => {
      t += ms;
    },
    reads: () => reads,
  };
}
