/**
 * Pending increments, summed per key in memory and written as one INCRBY + EXPIRE per key per flush, inside
 * MULTI/EXEC so a flush is applied whole or not at all (a failed flush is retried without double counting).
 * Memory grows with distinct keys, not with events; while Redis is away the counts are held, bounded by
 * max_pending_keys, and written when it returns.
 */
import type { Logger } from '../common/log.js';
import type { AgentStats } from './stats.js';

export interface Pending {
  n: number;
  ttl: number;
}

/** Keys Redis refused for good (e.g. WRONGTYPE), and keys not written this time (a cluster node away). */
export interface WriteResult {
  refused: string[];
  unwritten: string[];
  /** Why the unwritten keys were not written. */
  error?: string;
}

/** Writes a batch; throws when nothing of it was written (Redis unreachable). */
export type BatchWriter = (batch: Map<string, Pending>) => Promise<WriteResult>;

export class Aggregator {
  private pending = new Map<string, Pending>();
  private pendingCount = 0;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly write: BatchWriter,
    private readonly stats: AgentStats,
    private readonly log: Logger,
    private readonly maxKeys: number,
    private readonly flushKeys: number,
  ) {}

  get pendingIncrements(): number {
    return this.pendingCount;
  }

  get pendingKeys(): number {
    return this.pending.size;
  }

  add(key: string, ttl: number): void {
    const p = this.pending.get(key);
    if (p) {
      p.n++;
      p.ttl = ttl;
    } else if (this.pending.size >= this.maxKeys) {
      this.stats.dropped_pending_full++;
      return;
    } else {
      this.pending.set(key, { n: 1, ttl });
    }
    this.pendingCount++;
    this.stats.increments++;
    if (this.pending.size >= this.flushKeys && !this.flushing) void this.flush();
  }

  /** Writes what is pending; on failure the counts go back into pending to be retried. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.size === 0) return Promise.resolve();
    const batch = this.pending;
    const count = this.pendingCount;
    this.pending = new Map();
    this.pendingCount = 0;
    this.flushing = this.write(batch)
      .then(({ refused, unwritten, error }) => {
        let lost = 0;
        for (const k of refused) lost += batch.get(k)!.n;
        const held = this.holdAgain(batch, unwritten);
        this.stats.written += count - lost - held;
        if (refused.length > 0) {
          this.stats.dropped_wrongtype += lost;
          this.log.error(`redis refused ${refused.length} key(s) (wrong type?), ${lost} increment(s) dropped, e.g. ${refused[0]}`);
        }
        if (unwritten.length > 0) {
          this.stats.redis_errors++;
          this.log.warn(`redis write partly failed (${error}); holding ${held} increment(s) on ${unwritten.length} key(s) to retry`);
        }
      })
      .catch((e: Error) => {
        this.stats.redis_errors++;
        this.log.warn(`redis write failed (${e.message}); holding ${count} increment(s) on ${batch.size} key(s) to retry`);
        this.holdAgain(batch, batch.keys());
      })
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }

  /** Puts keys of a failed write back into pending; returns how many increments that was. */
  private holdAgain(batch: Map<string, Pending>, keys: Iterable<string>): number {
    let held = 0;
    for (const k of keys) {
      const p = batch.get(k)!;
      // Keys already pending again since the batch was taken keep accumulating on top.
      const cur = this.pending.get(k);
      if (cur) cur.n += p.n;
      else this.pending.set(k, p);
      held += p.n;
    }
    this.pendingCount += held;
    return held;
  }

  /** Counts what could not be written before exit. */
  abandon(): void {
    this.stats.dropped_at_shutdown += this.pendingCount;
    this.pending.clear();
    this.pendingCount = 0;
  }
}
