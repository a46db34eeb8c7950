/**
 * MAX_PENDING: how many queries may wait at once (for Redis, or for CONTROL_KEY). Beyond it UDP queries are
 * dropped (the client retries); TCP clients are held back by the connection's own back-pressure instead.
 */
import { isPromise, type Handled, type Link } from './chain.js';
import type { ServerStats } from './stats.js';

export interface Admission {
  link: Link;
  /** Queries waiting now. */
  pending(): number;
}

export function admission(maxPending: number, stats: ServerStats): Admission {
  let pending = 0;
  const settle = (r: Handled) => {
    pending--;
    return r;
  };
  const fail = (e: unknown): never => {
    pending--;
    throw e;
  };
  // A repeat answered from the cache waits for nothing, so MAX_PENDING never applies to it.
  const link: Link = {
    name: 'MAX_PENDING',
    cache: 'bytes',
    run: (qc, next) => {
      if (pending >= maxPending && qc.transport === 'udp') {
        stats.count('dropped_pending');
        return null;
      }
      const r = next(qc);
      if (!isPromise(r)) return r;
      pending++;
      return r.then(settle, fail);
    },
  };
  return { link, pending: () => pending };
}
