/** The flight table: identical queries share one read for 5 s, bounded, swept in order. */
import { describe, expect, it } from 'vitest';
import { FLIGHT_MS, Flights, SWEEP_GAP_MS } from '../../../src/rkvdns/flight.js';
import { aging, setup, type Answer } from './flight-fixture.js';

describe('Flights', () => {
  it('concurrent identical queries share one read', async () => {
    const { ask, reads } = setup();
    const all = await Promise.all([ask('a'), ask('a'), ask('a')]);
    expect(all.map((r) => r.value)).toEqual(['a#1', 'a#1', 'a#1']);
    expect(reads()).toBe(1);
  });

  it('a repeat inside 5 s is answered from the flight at once, with its TTL aged; after 5 s a new read runs', async () => {
    const { ask, advance, reads } = setup();
    await ask('a');
    advance(2500);
    // Synchronously: a repeat costs no promise and no event-loop turn.
    expect(ask('a')).toEqual({ value: 'a#1', ttl: 28 });
    advance(FLIGHT_MS - 2500);
    expect(await ask('a')).toEqual({ value: 'a#2', ttl: 30 });
    expect(reads()).toBe(2);
  });

  it('a name asked again after its flight ended goes to the end of the table, so the sweep still reaches the ended ones', async () => {
    const { ask, advance, flights } = setup(null);
    await ask('a');
    advance(10);
    await ask('b');
    await ask('c');
    advance(FLIGHT_MS); // every flight has ended
    await ask('a'); // a new flight for 'a', live
    flights.prune();
    // 'b' and 'c' ended and are gone; were 'a' still first, the sweep would have stopped at it.
    expect(flights.size).toBe(1);
  });

  it('a read still running after 5 s is joined, not started again, and not pruned', async () => {
    let t = 0;
    let finish!: (a: Answer) => void;
    let reads = 0;
    const flights = new Flights<Answer>(aging, {}, () => t);
    const slow = () =>
      flights.run('big', () => {
        reads++;
        return new Promise<Answer>((r) => (finish = r));
      });
    const first = slow();
    t += 3 * FLIGHT_MS;
    flights.prune();
    const late = slow();
    expect(reads).toBe(1);
    finish({ value: 'done', ttl: 30 });
    expect([await first, await late].map((a) => a.value)).toEqual(['done', 'done']);
  });

  it('an answer with a TTL under 5 s is not shared past its TTL', async () => {
    const { ask, advance } = setup();
    await ask('a', 2);
    advance(1999);
    expect(await ask('a', 2)).toEqual({ value: 'a#1', ttl: 1 });
    advance(1);
    expect((await ask('a', 2)).value).toBe('a#2');
  });

  it('without ageing, the answer is shared unchanged for the whole flight', async () => {
    const { ask, advance } = setup(null);
    await ask('a', 2);
    advance(4000);
    expect(await ask('a', 2)).toEqual({ value: 'a#1', ttl: 2 });
  });

  it('a result that must not be kept (a Redis failure) is not replayed', async () => {
    const { flights } = setup();
    let n = 0;
    const work = async () => ({ value: `fail${++n}`, ttl: 30 });
    await flights.run('a', work, () => false);
    expect((await flights.run('a', work, () => false)).value).toBe('fail2');
  });

  it('a rejected read is forgotten', async () => {
    const { flights, ask } = setup();
    await expect(flights.run('a', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect((await ask('a')).value).toBe('a#1');
  });

  it('the table stays bounded: beyond the cap, queries run alone, and each such read is counted', async () => {
    const { flights, ask, advance, reads } = setup(aging, 3);
    for (const id of ['a', 'b', 'c', 'd']) await ask(id);
    expect(flights.size).toBe(3);
    expect(flights.full).toBe(1);
    await ask('d');
    expect(reads()).toBe(5);
    expect(flights.full).toBe(2);
    // A repeat of a name in the table is answered from it at once, full or not.
    expect(ask('a')).toEqual({ value: 'a#1', ttl: 30 });
    expect(flights.full).toBe(2);
    advance(FLIGHT_MS);
    await ask('e');
    expect(flights.size).toBe(1);
    expect(flights.full).toBe(2);
  });
});

describe('Flights at the cap', () => {
  it('a flood of distinct names sweeps the full table at most once per SWEEP_GAP_MS, not once per query', async () => {
    let t = 0;
    let sweeps = 0;
    class Counted extends Flights<Answer> {
      override prune(at?: number): void {
        sweeps++;
        super.prune(at);
      }
    }
    const flights = new Counted(aging, { maxFlights: 10 }, () => t);
    for (let i = 0; i < 10; i++) await flights.run(`live${i}`, async () => ({ value: 'v', ttl: 30 }));
    for (let i = 0; i < 1000; i++) await flights.run(`flood${i}`, async () => ({ value: 'v', ttl: 30 }));
    expect(sweeps).toBe(1);
    t += SWEEP_GAP_MS;
    await flights.run('one-more', async () => ({ value: 'v', ttl: 30 }));
    expect(sweeps).toBe(2);
    expect(flights.size).toBe(10);
  });
});
