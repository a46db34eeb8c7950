/**
 * Marshalling: queries that would run the same Redis operation with the same parameters, for the same
 * query type and transport, within a 5-second flight share one Redis lookup and one encoded answer.
 * Concurrent queries wait on the same promise; repeats inside the flight get the finished answer.
 */
export const FLIGHT_MS = 5000;

interface Flight<T> {
  result: Promise<T>;
  expires: number;
}

export class Flights<T> {
  private readonly flights = new Map<string, Flight<T>>();
  shared = 0;

  constructor(private readonly maxFlights = 100_000, private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.flights.size;
  }

  /** `keep` decides whether a finished result may serve later queries of the flight. */
  run(id: string, work: () => Promise<T>, keep: (result: T) => boolean = () => true): Promise<T> {
    const t = this.now();
    const f = this.flights.get(id);
    if (f && f.expires > t) {
      this.shared++;
      return f.result;
    }
    const result = work();
    if (this.flights.size >= this.maxFlights) this.prune(t);
    // Under a flood of distinct names the table stays bounded: beyond the cap, queries simply run alone.
    if (this.flights.size < this.maxFlights) this.flights.set(id, { result, expires: t + FLIGHT_MS });
    const forget = () => {
      if (this.flights.get(id)?.result === result) this.flights.delete(id);
    };
    result.then((r) => { if (!keep(r)) forget(); }, forget);
    return result;
  }

  prune(t = this.now()): void {
    for (const [id, f] of this.flights) if (f.expires <= t) this.flights.delete(id);
  }
}

/** DEBOUNCE: further identical queries (client address, name, type) within 5 s of the first are dropped. */
export class Debouncer {
  private readonly seen = new Map<string, number>();
  dropped = 0;

  constructor(private readonly maxEntries = 100_000, private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.seen.size;
  }

  /** True when the query should be answered. */
  admit(id: string): boolean {
    const t = this.now();
    const until = this.seen.get(id);
    if (until !== undefined && until > t) {
      this.dropped++;
      return false;
    }
    if (this.seen.size >= this.maxEntries) for (const [k, u] of this.seen) if (u <= t) this.seen.delete(k);
    if (this.seen.size < this.maxEntries) this.seen.set(id, t + FLIGHT_MS);
    return true;
  }
}
