/**
 * Pending increments, folded per key in memory by the key's measure (counts and sums added, maxima and minima
 * kept) and written per flush (one script: INCRBY, or the sum, max or min, and EXPIRE per key). The writer
 * applies every increment at most once: what it sent without hearing back is in doubt, and it retries that
 * as it was; what it did not send comes back here as unwritten and keeps accumulating. Memory grows with
 * distinct keys, not with events; while Redis is away the counts are held, bounded by max_pending_keys.
 */
import { plainRedisError } from '../redis/errors.js';
import type { Logger } from '../common/log.js';
import type { Measure } from '../common/measure.js';
import type { AgentStats } from './stats.js';

export interface Pending {
  measure: Measure;
  /** Lines folded into this key (every measure). */
  n: number;
  /** Units: their sum (sum), the largest (max) or smallest (min); 0 for a count. */
  s: number;
  ttl: number;
}

/** `b` folded into `a`, by their measure. */
export function fold(a: Pending, b: Pick<Pending, 'n' | 's'>): void {
  if (a.measure === 'sum') a.s += b.s;
  else if (a.measure === 'max') a.s = Math.max(a.s, b.s);
  else if (a.measure === 'min') a.s = Math.min(a.s, b.s);
  a.n += b.n;
}

/** What a write did with a batch, and with the shares of earlier batches that were in doubt. */
export interface WriteResult {
  /** Increments written: this batch's and those of earlier shares settled now. */
  written: number;
  /** Keys Redis refused for good (e.g. WRONGTYPE), and their increments. */
  refused: string[];
  refusedIncrements: number;
  /** Keys of this batch not sent (their slot still has a share in doubt): back to pending. */
  unwritten: string[];
  /** Increments of this batch sent without a reply: in doubt, retried by the writer as they were. */
  inDoubt: number;
  /** Why something was not written. */
  error?: string;
}

export interface BatchWriter {
  write(batch: Map<string, Pending>): Promise<WriteResult>;
  /** Increments sent whose outcome is not known yet. */
  readonly inDoubt: number;
  /** Distinct keys of those. */
  readonly keysInDoubt: number;
  /** Forgets what is in doubt (at shutdown); returns its increments. */
  abandon(): number;
}

/** While writes keep failing the same way, the warning is repeated this often. */
const WARN_EVERY_MS = 10_000;

export class Aggregator {
  private pending = new Map<string, Pending>();
  private pendingCount = 0;
  private flushing: Promise<void> | null = null;
  /** Keys and increments of the batch being written: held too, until the write says which came back. */
  private inFlight = 0;
  private inFlightIncrements = 0;
  private lastWarning: { error: string; at: number } | null = null;

  constructor(
    private readonly writer: BatchWriter,
    private readonly stats: AgentStats,
    private readonly log: Logger,
    private readonly maxKeys: number,
    private readonly flushKeys: number,
  ) {}

  /** Increments not known to be written: pending here, being written, or sent and in doubt. */
  get pendingIncrements(): number {
    return this.pendingCount + this.inFlightIncrements + this.writer.inDoubt;
  }

  get pendingKeys(): number {
    return this.pending.size;
  }

  /** One line's addition to `key`: a count, or `units` by `measure`. */
  add(key: string, ttl: number, measure: Measure = 'count', units = 0): void {
    const p = this.pending.get(key);
    if (p) {
      if (measure === 'count') p.n++;
      else fold(p, { n: 1, s: units });
      p.ttl = ttl;
    } else if (this.pending.size + this.inFlight + this.writer.keysInDoubt >= this.maxKeys) {
      // Every distinct key held counts: pending, being written, or sent and in doubt while Redis is away.
      this.stats.dropped_pending_full++;
      return;
    } else {
      this.pending.set(key, { measure, n: 1, s: units, ttl });
    }
    this.pendingCount++;
    this.stats.increments++;
    if (this.pending.size >= this.flushKeys && !this.flushing) void this.flush();
  }

  /** Writes what is pending (after whatever is in doubt); what was not sent goes back into pending. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.size === 0 && this.writer.inDoubt === 0) return Promise.resolve();
    const batch = this.pending;
    this.pending = new Map();
    this.inFlightIncrements = this.pendingCount;
    this.pendingCount = 0;
    this.inFlight = batch.size;
    this.flushing = this.writer
      .write(batch)
      .then(({ written, refused, refusedIncrements, unwritten, inDoubt, error }) => {
        this.landed();
        const held = this.holdAgain(batch, unwritten);
        this.stats.written += written;
        if (refused.length > 0) {
          this.stats.dropped_wrongtype += refusedIncrements;
          this.log.error(
            `redis refused ${refused.length} key(s) (another type, or a value of another shape or out of range), ${refusedIncrements} increment(s) dropped, e.g. ${refused[0]}`,
          );
        }
        if (error === undefined) this.lastWarning = null;
        else {
          this.stats.redis_errors++;
          // Once per cause, and again every WARN_EVERY_MS while it lasts: not at every flush of an outage.
          const now = Date.now();
          if (this.lastWarning?.error === error && now - this.lastWarning.at < WARN_EVERY_MS) return;
          this.lastWarning = { error, at: now };
          this.log.warn(
            `redis write failed (${plainRedisError(error)}); ${this.writer.inDoubt} increment(s) sent without a reply will be retried as sent and applied at most once${inDoubt > 0 ? ` (${inDoubt} of them just now)` : ''}; holding ${held} increment(s) on ${unwritten.length} key(s)`,
          );
        }
      })
      .catch((e: Error) => {
        // The writer settles its own failures; this is a fault in the agent itself. Nothing of the batch
        // was left in doubt, so it is held whole.
        this.landed();
        this.stats.redis_errors++;
        this.log.error(`write failed unexpectedly (${e.message}); holding ${batch.size} key(s) to retry`);
        this.holdAgain(batch, batch.keys());
      })
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }

  /** The batch being written is back: written, in doubt, or held again. */
  private landed(): void {
    this.inFlight = 0;
    this.inFlightIncrements = 0;
  }

  /** Puts keys of a failed write back into pending; returns how many increments that was. */
  private holdAgain(batch: Map<string, Pending>, keys: Iterable<string>): number {
    let held = 0;
    for (const k of keys) {
      const p = batch.get(k)!;
      // Keys already pending again since the batch was taken keep accumulating on top.
      const cur = this.pending.get(k);
      if (cur) fold(cur, p);
      else this.pending.set(k, p);
      held += p.n;
    }
    this.pendingCount += held;
    return held;
  }

  /** Counts what could not be written before exit (in doubt included: it may or may not have been). */
  abandon(): void {
    this.stats.dropped_at_shutdown += this.pendingCount + this.writer.abandon();
    this.pending.clear();
    this.pendingCount = 0;
  }
}
