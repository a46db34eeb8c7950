/** The flight table with PREFETCH: a repeat late in a flight starts the next read, and what a repeat is told. */
import { describe, expect, it } from 'vitest';
import { FLIGHT_MS, Flights, PREFETCH_MS } from '../../../src/rkvdns/flight.js';
import { aging, holder, setup, type Answer } from './flight-fixture.js';

describe('Flights with prefetch', () => {
  it('a repeat late in a flight is answered from it and starts the next read, which later repeats get without waiting', async () => {
    const { ask, advance, reads, flights } = setup(aging, 100, true);
    await ask('a');
    advance(FLIGHT_MS - 2 * PREFETCH_MS - 1);
    // Before the last 2 s: no prefetch.
    expect(ask('a')).toEqual({ value: 'a#1', ttl: 28 });
    expect(reads()).toBe(1);
    advance(PREFETCH_MS + 2);
    // After the last 1 s began at the latest: answered from the old flight, next read started.
    expect(ask('a')).toMatchObject({ value: 'a#1' });
    expect(reads()).toBe(2);
    expect(flights.prefetched).toBe(1);
    // Only one prefetch per flight.
    void ask('a');
    expect(reads()).toBe(2);
    await Promise.resolve();
    advance(PREFETCH_MS);
    // Past the first flight's end: the prefetched answer (aged from its own arrival, 1 s ago),
    // synchronously, with no new read.
    expect(ask('a')).toEqual({ value: 'a#2', ttl: 29 });
    expect(reads()).toBe(2);
  });

  it('says how a repeat fares: the same answer to the flight’s end, aging by the second, the prefetch point, and while a prefetch runs its successor', async () => {
    let t = 1_000_000;
    const finish: ((a: Answer) => void)[] = [];
    const flights = new Flights<Answer>(aging, { prefetch: true }, () => t);
    const held = holder();
    const ask = () => flights.run('a', () => new Promise<Answer>((r) => finish.push(r)), undefined, held);
    const first = ask();
    t += 40; // the answer arrives 40 ms after the query
    finish[0]!({ value: 'one', ttl: 30 });
    await first;
    const done = t;
    const end = done - 40 + FLIGHT_MS; // the flight began at the query
    t += 1500;
    expect(ask()).toEqual({ value: 'one', ttl: 29 });
    // To the flight's end, ageing at the next whole second after the answer arrived; a repeat from the prefetch
    // point (drawn in the flight's last 1-2 s) starts the next read.
    expect(held.servedUntil).toBe(end);
    expect(held.agesAt).toBe(done + 2000);
    const prefetchAt = held.refreshAt;
    expect(prefetchAt).toBeGreaterThanOrEqual(end - 2 * PREFETCH_MS);
    expect(prefetchAt).toBeLessThanOrEqual(end - PREFETCH_MS);
    expect(held.successor).toBeNull();
    t = Math.ceil(prefetchAt) - 1;
    expect(ask()).toMatchObject({ value: 'one' });
    expect(flights.prefetched).toBe(0);
    t += 1;
    // This repeat starts the prefetch: its answer holds to the flight's end unless the successor replaces it first.
    expect(ask()).toMatchObject({ value: 'one' });
    expect(flights.prefetched).toBe(1);
    expect(held.servedUntil).toBe(end);
    expect(held.refreshAt).toBe(0);
    const successor = held.successor;
    expect(successor).not.toBeNull();
    // A repeat while it runs fares the same, with the same successor.
    expect(ask()).toMatchObject({ value: 'one' });
    expect(held.servedUntil).toBe(end);
    expect(held.successor).toBe(successor);
    t += 25;
    finish[1]!({ value: 'two', ttl: 3 });
    // The prefetched answer (TTL 3 s) holds to its own TTL, before its flight's 5 s, and ages a second after it came.
    const next = (await successor)!;
    expect(next.result).toEqual({ value: 'two', ttl: 3 });
    expect(next.servedUntil).toBe(t + 3000);
    expect(next.agesAt).toBe(t + 1000);
    expect(next.refreshAt).toBeGreaterThanOrEqual(t + 3000 - 2 * PREFETCH_MS);
    expect(next.refreshAt).toBeLessThanOrEqual(t + 3000 - PREFETCH_MS);
    expect(ask()).toEqual({ value: 'two', ttl: 3 });
    expect([held.servedUntil, held.agesAt, held.refreshAt]).toEqual([next.servedUntil, next.agesAt, next.refreshAt]);
    expect(held.successor).toBeNull();
  });

  it('a prefetch that fails has no successor, and the answer it would have replaced holds to its flight’s end', async () => {
    let t = 1_000_000;
    const finish: ((a: Answer) => void)[] = [];
    const flights = new Flights<Answer>(aging, { prefetch: true }, () => t);
    const held = holder();
    const ask = () =>
      flights.run(
        'a',
        () => new Promise<Answer>((r) => finish.push(r)),
        (a) => a.value !== 'failed',
        held,
      );
    const first = ask();
    finish[0]!({ value: 'one', ttl: 30 });
    await first;
    t += FLIGHT_MS - PREFETCH_MS / 2;
    void ask();
    const successor = held.successor;
    finish[1]!({ value: 'failed', ttl: 30 });
    expect(await successor).toBeNull();
    expect(ask()).toMatchObject({ value: 'one' });
    expect(held.servedUntil).toBe(1_000_000 + FLIGHT_MS);
    // No other prefetch is tried, and none is running.
    expect(held.refreshAt).toBe(0);
    expect(held.successor).toBeNull();
  });

  it('without ageing, the answer holds unchanged to the end of its flight', async () => {
    const { ask, held } = setup(null);
    await ask('a');
    expect(ask('a')).toMatchObject({ value: 'a#1' });
    expect(held.agesAt).toBe(held.servedUntil);
    expect(held.servedUntil).toBe(1_000_000 + FLIGHT_MS);
    // Without prefetch, no repeat starts a read.
    expect(held.refreshAt).toBe(0);
  });

  it('queries after the flight ends join a prefetch still running instead of starting another', async () => {
    let t = 0;
    let reads = 0;
    const finish: ((a: Answer) => void)[] = [];
    const flights = new Flights<Answer>(aging, { prefetch: true }, () => t);
    const ask = () =>
      flights.run('a', () => {
        reads++;
        return new Promise<Answer>((r) => finish.push(r));
      });
    const first = ask();
    finish[0]!({ value: 'one', ttl: 30 });
    await first;
    t += FLIGHT_MS - 1;
    expect(ask()).toMatchObject({ value: 'one' });
    expect(reads).toBe(2);
    t += 10;
    flights.prune();
    const late = ask();
    expect(reads).toBe(2);
    finish[1]!({ value: 'two', ttl: 30 });
    expect((await late).value).toBe('two');
  });

  it('a failed prefetch is not replayed: after the flight ends the next query looks up again', async () => {
    let t = 0;
    let n = 0;
    const flights = new Flights<Answer>(aging, { prefetch: true }, () => t);
    const ask = () =>
      flights.run(
        'a',
        async () => ({ value: `v${++n}`, ttl: 30 }),
        (r) => r.value !== 'v2',
      );
    await ask();
    t += FLIGHT_MS - 1;
    expect(ask()).toMatchObject({ value: 'v1' });
    await Promise.resolve();
    await Promise.resolve();
    t += 10;
    expect(await ask()).toMatchObject({ value: 'v3' });
  });

  it('a prefetched flight moves to the end of the table, so a sweep still drops the flights that began after the first', async () => {
    const { ask, advance, flights } = setup(aging, 100, true);
    await ask('hot');
    advance(1000);
    await ask('cold');
    advance(FLIGHT_MS - PREFETCH_MS - 1000);
    void ask('hot'); // late in its flight: starts the next read
    await Promise.resolve();
    await Promise.resolve();
    advance(2000 + 1); // cold's flight (begun 1 s after hot's first) has ended; hot's successor is live
    flights.prune();
    expect(flights.size).toBe(1);
    expect(ask('hot')).toMatchObject({ value: 'hot#3' });
  });

  it('a sweep stops at the first live flight and leaves an early-ended one behind it for a later sweep', async () => {
    const { ask, advance, flights } = setup();
    await ask('long', 30);
    advance(10);
    await ask('short', 1); // ends after 1 s, before long's 5 s
    advance(1000);
    flights.prune();
    expect(flights.size).toBe(2);
    advance(FLIGHT_MS);
    flights.prune();
    expect(flights.size).toBe(0);
  });

  it('without prefetch, nothing is read before the flight ends', async () => {
    const { ask, advance, reads } = setup(aging, 100, false);
    await ask('a');
    advance(FLIGHT_MS - 1);
    void ask('a');
    expect(reads()).toBe(1);
  });
});
