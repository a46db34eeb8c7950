/**
 * CONTROL_KEY test overlay: the Redis hash CONTROL_KEY is read for every query and its fields overlaid on
 * the settings for that query. Two extra fields drive tests of the machinery: `incrementing` names a key
 * whose GET is answered by a counter in the server, one more on every Redis-level lookup; and
 * `pending_delay_ms` delays the processing of each incoming query, one query after another.
 */
import type { Commands } from '../redis/store.js';
import type { Logger } from '../common/log.js';
import { overlaySettings, type Settings } from './settings.js';

export interface QuerySettings {
  settings: Settings;
  incrementing?: Buffer;
  pendingDelayMs?: number;
}

export class ControlOverlay {
  private readonly counters = new Map<string, number>();
  private delayChain: Promise<void> = Promise.resolve();
  private cache = new Map<string, Settings>();
  /** Without CONTROL_KEY every query gets the configured settings, handed out without a Redis read. */
  private readonly configured: QuerySettings;

  constructor(private readonly base: Settings, private readonly redis: Commands, private readonly log: Logger) {
    this.configured = { settings: base };
  }

  /** The settings for one query: at once without CONTROL_KEY, after reading the hash with it. */
  read(): QuerySettings | Promise<QuerySettings> {
    return this.base.CONTROL_KEY ? this.readControl(this.base.CONTROL_KEY) : this.configured;
  }

  private async readControl(key: string): Promise<QuerySettings> {
    let fields: Record<string, string>;
    try {
      fields = await this.redis.hgetall(key);
    } catch (e) {
      this.log.warn(`CONTROL_KEY ${key}: ${(e as Error).message}; using the configured settings`);
      return { settings: this.base };
    }
    const { incrementing, pending_delay_ms: delay, ...rest } = fields;
    // One settings object per distinct overlay, so caches keyed by settings keep working.
    const id = JSON.stringify(Object.entries(rest).sort());
    let settings = this.cache.get(id);
    if (!settings) {
      settings = overlaySettings(this.base, rest, (e) => this.log.warn(`CONTROL_KEY ${key}: ${e.message}`));
      if (this.cache.size > 100) this.cache.clear();
      this.cache.set(id, settings);
    }
    const delayMs = delay !== undefined && /^\d+$/.test(delay) ? Number(delay) : undefined;
    return { settings, ...(incrementing ? { incrementing: Buffer.from(incrementing, 'latin1') } : {}), ...(delayMs ? { pendingDelayMs: delayMs } : {}) };
  }

  /** Waits `ms` after every earlier delayed query: queries are delayed one after another. */
  delay(ms: number): Promise<void> {
    const turn = this.delayChain.then(() => new Promise<void>((r) => setTimeout(r, ms)));
    this.delayChain = turn;
    return turn;
  }

  /** The next value of the in-server counter for `key`. */
  increment(key: Buffer): number {
    const id = key.toString('latin1');
    const n = (this.counters.get(id) ?? 0) + 1;
    this.counters.set(id, n);
    return n;
  }
}
