/**
 * UDP_ANSWER_CACHE: repeats the batched UDP addon answers itself. The front marks an answer served from a flight
 * as reusable until the flight says it would change, under a tally: one per set of counters such an answer adds.
 * The addon counts its answers per tally; fold() adds them into the server's counters before any is read, so
 * stats.<zone>, the stats log and /metrics count each of those answers as if it had run the chain.
 */
import { CACHE_TALLIES, type Cacheable } from '../dns/udp.js';
import type { Counter } from './counters.js';
import type { Held } from './flight.js';
import type { ServerStats } from './stats.js';

export class AnswerCacheTallies {
  private readonly byKey = new Map<string, number>();
  /** What one answer under each tally counts. */
  private readonly counters: Counter[][] = [];
  private readonly folded = new Float64Array(CACHE_TALLIES);

  /**
   * Marks an answer as reusable as the query's flight said. It is left notCacheable if every tally is already another
   * outcome's (there are far fewer outcomes than tallies).
   */
  mark(cacheable: Cacheable, held: Held, outcome: Counter, truncated: boolean): void {
    const key = truncated ? `${outcome} truncated` : outcome;
    let tally = this.byKey.get(key);
    if (tally === undefined) {
      if (this.counters.length >= CACHE_TALLIES) return;
      tally = this.counters.length;
      this.counters.push(['udp_queries', 'udp_cache_answers', outcome, ...(truncated ? (['truncated'] as const) : [])]);
      this.byKey.set(key, tally);
    }
    cacheable.untilMs = held.servedUntil;
    cacheable.agesAtMs = held.agesAt;
    cacheable.refreshAtMs = held.refreshAt;
    cacheable.tally = tally;
  }

  /** Adds what the addon counted in `cacheCounts` since the last call; each is also a query marshalled. */
  fold(cacheCounts: Float64Array, stats: ServerStats, flights: { marshalled: number }): void {
    for (let tally = 0; tally < this.counters.length; tally++) {
      const n = cacheCounts[tally]! - this.folded[tally]!;
      if (n === 0) continue;
      this.folded[tally] = cacheCounts[tally]!;
      for (const c of this.counters[tally]!) stats.count(c, n);
      flights.marshalled += n;
    }
  }
}
