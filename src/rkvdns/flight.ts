/**
 * Marshalling: queries that would run the same Redis operation with the same parameters, for the same
 * query type and transport, within a 5-second flight share one Redis lookup and one encoded answer.
 * Concurrent queries wait on the same promise; repeats inside the flight get the finished answer, aged
 * like a cache would age it: never served past its own TTL, and with TTLs lowered by the seconds it
 * has been held, so a downstream cache never keeps a value longer than its TTL allows.
 */
export const FLIGHT_MS = 5000;

/** How a finished result may be reused: for how long, and what it looks like after whole seconds. */
export interface Aging<T> {
  /** Milliseconds after it was made that the result may still be shared; null for no limit. */
  lifetimeMs(result: T): number | null;
  aged(result: T, seconds: number): T;
}

interface Flight<T> {
  result: Promise<T>;
  expires: number;
  done?: { value: T; at: number; agedSeconds: number; aged: T };
}

export class Flights<T> {
  private readonly flights = new Map<string, Flight<T>>();
  shared = 0;

  constructor(
    private readonly aging: Aging<T> | null = null,
    private readonly maxFlights = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.flights.size;
  }

  /** `keep` decides whether a finished result may serve later queries of the flight. */
  run(id: string, work: () => Promise<T>, keep: (result: T) => boolean = () => true): Promise<T> {
    const t = this.now();
    const f = this.flights.get(id);
    // A lookup still running is always joined, however long it takes (a big SCAN can take seconds).
    if (f && (!f.done || f.expires > t)) {
      this.shared++;
      return f.done ? Promise.resolve(this.served(f.done, t)) : f.result;
    }
    const result = work();
    if (this.flights.size >= this.maxFlights) this.prune(t);
    // Under a flood of distinct names the table stays bounded: beyond the cap, queries simply run alone.
    if (this.flights.size >= this.maxFlights) return result;
    const flight: Flight<T> = { result, expires: t + FLIGHT_MS };
    this.flights.set(id, flight);
    const forget = () => {
      if (this.flights.get(id) === flight) this.flights.delete(id);
    };
    result.then((r) => {
      if (!keep(r)) return forget();
      const at = this.now();
      flight.done = { value: r, at, agedSeconds: 0, aged: r };
      const life = this.aging?.lifetimeMs(r) ?? null;
      if (life !== null) flight.expires = Math.min(flight.expires, at + life);
    }, forget);
    return result;
  }

  /** The finished result as it should look now; the aged copy is kept for the rest of its second. */
  private served(done: NonNullable<Flight<T>['done']>, t: number): T {
    if (!this.aging) return done.value;
    const seconds = Math.floor((t - done.at) / 1000);
    if (seconds !== done.agedSeconds) {
      done.agedSeconds = seconds;
      done.aged = seconds === 0 ? done.value : this.aging.aged(done.value, seconds);
    }
    return done.aged;
  }

  prune(t = this.now()): void {
    for (const [id, f] of this.flights) if (f.done && f.expires <= t) this.flights.delete(id);
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
