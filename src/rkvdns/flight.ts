/**
 * Marshalling: queries that would run the same Redis operation with the same parameters, for the same
 * query type and transport, within a 5-second flight share one Redis read and one encoded answer.
 * Concurrent queries wait on the same promise; repeats inside the flight get the finished answer, aged
 * like a cache would age it: never served past its own TTL, and with TTLs lowered by the seconds it
 * has been held, so a downstream cache never keeps a value longer than its TTL allows.
 *
 * Prefetch (optional): a repeat late in a flight is answered from it as usual and also starts the read
 * of the next flight, so a name asked for continuously never makes its askers wait for Redis. Queries
 * arriving after the old flight ends and before that read returns join it. The point from which a
 * repeat prefetches is drawn at random in the flight's last PREFETCH_MS..2×PREFETCH_MS, so names whose
 * flights began together (a cold start) do not all go to Redis in the same few milliseconds again.
 */
export const FLIGHT_MS = 5000;
export const PREFETCH_MS = 1000;
/** MAX_FLIGHTS's default. */
export const DEFAULT_MAX_FLIGHTS = 10_000;
/**
 * At the cap, a full table is swept for ended entries at most this often: sweeping on every query would
 * make a flood of distinct names cost a walk over the whole table per query.
 */
export const SWEEP_GAP_MS = 100;

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
  /** From when a repeat starts the next flight's read (prefetching only). */
  prefetchAt?: number;
  /** The next flight's read, started early; `false` once one failed, so no other is tried. */
  next?: Promise<T> | false;
  /** While `next` runs: its result once it has taken this flight's place (null if it does not). */
  successor?: Promise<Successor<T> | null>;
}

/**
 * How a repeat of a finished result given at once fares (times in ms, the `now` clock):
 * - servedUntil: it gets that same result, aged as it ages, until its flight ends, unless a successor replaces it
 *   sooner;
 * - agesAt: when that result next ages by a second (then every second after); servedUntil without aging;
 * - refreshAt: from when a repeat starts the prefetch (0: none will).
 */
export interface Held {
  servedUntil: number;
  agesAt: number;
  refreshAt: number;
}

/** What run() tells of a result it gives at once: how it is held, and its successor (see run). */
export interface HeldResult<T> extends Held {
  successor: Promise<Successor<T> | null> | null;
}

/** A prefetched result that has just replaced its flight's, and how a repeat of it fares. */
export interface Successor<T> extends Held {
  result: T;
}

export interface FlightOptions {
  /**
   * The table's bound (MAX_FLIGHTS). Every flight keeps its result for FLIGHT_MS, so under a flood of distinct
   * names a full table holds answers no one asks for again, and what they cost the garbage collector grows with
   * the bound (docs/BENCHMARKS.md).
   */
  maxFlights?: number;
  /** Start the next flight's read on a repeat late in a flight. */
  prefetch?: boolean;
}

export class Flights<T> {
  private readonly flights = new Map<string, Flight<T>>();
  private readonly maxFlights: number;
  private readonly prefetchMs: number;
  private sweptAt = -Infinity;
  /** Queries answered from a flight another query started. */
  marshalled = 0;
  prefetched = 0;
  /** Reads that ran alone because the table held maxFlights flights. */
  full = 0;

  constructor(
    private readonly aging: Aging<T> | null = null,
    opts: FlightOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.maxFlights = opts.maxFlights ?? DEFAULT_MAX_FLIGHTS;
    this.prefetchMs = opts.prefetch ? PREFETCH_MS : 0;
  }

  get size(): number {
    return this.flights.size;
  }

  /**
   * The result for `id`: the finished result of a live flight at once (no promise, so a repeat costs no
   * event-loop turn), else a promise of the running or new read. `keep` decides whether a finished
   * result may serve later queries of the flight. When the result comes at once, how a repeat of it fares is
   * written into `held` (see Held), and its `successor`: while a prefetched read runs, that read's result once it
   * is in and has taken the table's place (null if it does not); null when no prefetch runs. (Written into the
   * caller's object, not returned in a new one: a repeat is the hot path.)
   */
  run(id: string, work: () => Promise<T>, keep: (result: T) => boolean = () => true, held?: HeldResult<T>): T | Promise<T> {
    const t = this.now();
    const f = this.flights.get(id);
    if (f) {
      // A read still running is always joined, however long it takes (a big SCAN can take seconds).
      if (!f.done) {
        this.marshalled++;
        return f.result;
      }
      if (f.expires > t) {
        this.marshalled++;
        if (f.prefetchAt !== undefined && t >= f.prefetchAt && f.next === undefined) f.successor = this.prefetch(id, f, work, keep, t);
        const served = this.served(f.done, t);
        if (held) {
          this.hold(held, f.done, f.expires);
          held.refreshAt = f.next === undefined ? (f.prefetchAt ?? 0) : 0;
          held.successor = f.next instanceof Promise ? f.successor! : null;
        }
        return served;
      }
      if (f.next) {
        this.marshalled++;
        return f.next;
      }
    }
    const result = work();
    if (this.flights.size >= this.maxFlights && t - this.sweptAt >= SWEEP_GAP_MS) this.prune(t);
    // Under a flood of distinct names the table stays bounded: beyond the cap, queries simply run alone.
    if (this.flights.size >= this.maxFlights) {
      this.full++;
      return result;
    }
    const flight: Flight<T> = { result, expires: t + FLIGHT_MS };
    // Deleted first: an ended flight's id kept its place at the table's start, and prune() relies on the order.
    this.flights.delete(id);
    this.flights.set(id, flight);
    result.then(
      (r) => (keep(r) ? this.finish(flight, r) : this.forget(id, flight)),
      () => this.forget(id, flight),
    );
    return result;
  }

  /**
   * Runs the next flight's read while `current` still answers; it takes the table's place once kept. The promise
   * is of that successor, as it stands when it takes the place (null if it does not).
   */
  private prefetch(id: string, current: Flight<T>, work: () => Promise<T>, keep: (result: T) => boolean, t: number): Promise<Successor<T> | null> {
    this.prefetched++;
    const result = work();
    current.next = result;
    const failed = () => {
      current.next = false;
      return null;
    };
    return result.then((r) => {
      if (!keep(r)) return failed();
      const next: Flight<T> = { result, expires: t + FLIGHT_MS };
      this.finish(next, r);
      const holder = this.flights.get(id);
      if (holder !== current && holder !== undefined) return null;
      // Deleted first so that the successor moves to the end of the table: prune() relies on its order.
      this.flights.delete(id);
      this.flights.set(id, next);
      const successor: Successor<T> = { result: r, servedUntil: 0, agesAt: 0, refreshAt: next.prefetchAt ?? 0 };
      this.hold(successor, next.done!, next.expires);
      return successor;
    }, failed);
  }

  /** Sets servedUntil, and agesAt: the next whole second of `done`'s age, or `until` if that comes first. */
  private hold(held: Held, done: NonNullable<Flight<T>['done']>, until: number): void {
    held.servedUntil = until;
    held.agesAt = this.aging ? Math.min(until, done.at + (done.agedSeconds + 1) * 1000) : until;
  }

  private finish(flight: Flight<T>, r: T): void {
    const at = this.now();
    flight.done = { value: r, at, agedSeconds: 0, aged: r };
    const life = this.aging?.lifetimeMs(r) ?? null;
    if (life !== null) flight.expires = Math.min(flight.expires, at + life);
    if (this.prefetchMs > 0) flight.prefetchAt = flight.expires - this.prefetchMs * (1 + Math.random());
  }

  private forget(id: string, flight: Flight<T>): void {
    if (this.flights.get(id) === flight) this.flights.delete(id);
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

  /**
   * Drops ended flights, except those whose successor's read is still running (queries join it). The table is
   * in the order flights began, and each ends at the latest FLIGHT_MS after it began, so the walk stops at the
   * first flight still live: a sweep costs what it drops, not the table's size. A flight that a short TTL ended
   * early behind a live one waits for a later sweep (it is never served: run() checks its end).
   */
  prune(t = this.now()): void {
    this.sweptAt = t;
    for (const [id, f] of this.flights) {
      if (f.expires > t) break;
      if (f.done && !f.next) this.flights.delete(id);
    }
  }
}
