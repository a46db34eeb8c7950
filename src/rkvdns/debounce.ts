/** DEBOUNCE: further identical queries (client address, name, type) within 5 s of the first are dropped. */
import type { Link } from './chain.js';
import { FLIGHT_MS, SWEEP_GAP_MS } from './flight.js';
import type { ServerStats } from './stats.js';

export class Debouncer {
  private readonly seen = new Map<string, number>();
  private sweptAt = -Infinity;

  constructor(
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  /** True when the query should be answered. */
  admit(id: string): boolean {
    const t = this.now();
    const until = this.seen.get(id);
    if (until !== undefined && until > t) return false;
    if (this.seen.size >= this.maxEntries && t - this.sweptAt >= SWEEP_GAP_MS) {
      this.sweptAt = t;
      for (const [k, u] of this.seen) if (u <= t) this.seen.delete(k);
    }
    if (this.seen.size < this.maxEntries) this.seen.set(id, t + FLIGHT_MS);
    return true;
  }
}

/** Per host, not per socket. The link checks the query's own settings: the CONTROL_KEY overlay may turn DEBOUNCE on or off per query. */
export function debounceLink(debouncer: Debouncer, stats: ServerStats): Link {
  return {
    name: 'DEBOUNCE',
    cache: 'query',
    run: (qc, next) => {
      if (qc.settings.DEBOUNCE && !debouncer.admit(`${qc.client.bytes.toString('latin1')}\0${qc.query.question.toString('latin1').toLowerCase()}`)) {
        stats.count('dropped_debounce');
        return null;
      }
      return next(qc);
    },
  };
}
