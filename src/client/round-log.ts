/**
 * How long a round of totals took, logged: at info when it took a second or more (a big totalizer, or the DNS
 * slow to answer), at debug otherwise, so that a scrape every 15 s answered from the cache stays quiet.
 */
import type { Logger } from '../common/log.js';
import type { Lookups } from './lookup.js';

/** Milliseconds from which a round is worth an info line. */
const SLOW_MS = 1000;

/** Runs `work`, then logs `what` with its duration and the DNS queries it made (and answers from the cache). */
export async function timedRound<T>(log: Logger, what: string, lookups: Lookups, work: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const [queries, hits] = [lookups.queries, lookups.hits];
  try {
    return await work();
  } finally {
    const ms = Math.round(performance.now() - t0);
    const line = `${what}: ${ms.toLocaleString('en-US')} ms, ${(lookups.queries - queries).toLocaleString('en-US')} DNS queries, ${(lookups.hits - hits).toLocaleString('en-US')} answered from the cache`;
    if (ms >= SLOW_MS) log.info(line);
    else log.debug(line);
  }
}
