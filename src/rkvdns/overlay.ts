/**
 * CONTROL_KEY test overlay, as two links that exist only when CONTROL_KEY is set. The Redis hash CONTROL_KEY
 * is read for every query and its fields overlaid on the settings for that query. Two extra fields drive tests
 * of the machinery: `incrementing` names a key whose GET is answered by a counter in the server, one more on
 * every Redis-level read; and `pending_delay_ms` delays the processing of each incoming query, one query after
 * another.
 */
import type { Logger } from '../common/log.js';
import { readThenTtl, type KeyReader } from '../redis/reader.js';
import type { Link } from './chain.js';
import { overlaySettings, type Settings } from './settings.js';

interface ControlFields {
  settings: Settings;
  incrementing?: Buffer;
  delayMs?: number;
}

export class ControlOverlay {
  private readonly counters = new Map<string, number>();
  private delayChain: Promise<void> = Promise.resolve();
  private cache = new Map<string, Settings>();

  constructor(
    private readonly base: Settings,
    private readonly key: string,
    private readonly reader: KeyReader,
    private readonly log: Logger,
  ) {}

  /** The settings for one query, from the hash as it is now; the configured ones when it cannot be read. */
  async read(): Promise<ControlFields> {
    let fields: Record<string, string>;
    try {
      fields = await this.reader.hashText(this.key);
    } catch (e) {
      this.log.warn(`CONTROL_KEY ${this.key}: ${(e as Error).message}; using the configured settings`);
      return { settings: this.base };
    }
    const { incrementing, pending_delay_ms: delay, ...rest } = fields;
    // One settings object per distinct overlay, so caches keyed by settings keep working.
    const id = JSON.stringify(Object.entries(rest).sort());
    let settings = this.cache.get(id);
    if (!settings) {
      settings = overlaySettings(this.base, rest, (e) => this.log.warn(`CONTROL_KEY ${this.key}: ${e.message}`));
      if (this.cache.size > 100) this.cache.clear();
      this.cache.set(id, settings);
    }
    const delayMs = delay !== undefined && /^\d+$/.test(delay) ? Number(delay) : undefined;
    return { settings, ...(incrementing ? { incrementing: Buffer.from(incrementing, 'latin1') } : {}), ...(delayMs ? { delayMs } : {}) };
  }

  /** Waits `ms` after every earlier delayed query: queries are delayed one after another. */
  delay(ms: number): Promise<void> {
    const turn = this.delayChain.then(() => new Promise<void>((r) => setTimeout(r, ms)));
    this.delayChain = turn;
    return turn;
  }

  /** A reader that answers GET of `key` from the in-server counter, one more each time, and reads the rest from Redis. */
  counting(reader: KeyReader, key: Buffer): KeyReader {
    const counted: KeyReader = {
      ...reader,
      get: (k) => (k.equals(key) ? Promise.resolve(Buffer.from(String(this.increment(k)))) : reader.get(k)),
      ttl: (k) => (k.equals(key) ? Promise.resolve(-1) : reader.ttl(k)),
      // The counted key's pair comes from the two reads here; every other key's goes to Redis as one pair.
      withTtl: (read, k, ...args) => (k.equals(key) ? readThenTtl(counted, read, k, ...args) : reader.withTtl(read, k, ...args)),
    };
    return counted;
  }

  private increment(key: Buffer): number {
    const id = key.toString('latin1');
    const n = (this.counters.get(id) ?? 0) + 1;
    this.counters.set(id, n);
    return n;
  }
}

/** Reads the hash and puts its settings (and test fields) on the query. */
export function overlayLink(control: ControlOverlay): Link {
  return {
    name: 'CONTROL_KEY',
    cache: 'query',
    run: (qc, next) =>
      control.read().then((c) => {
        qc.settings = c.settings;
        if (c.incrementing) qc.reader = control.counting(qc.reader, c.incrementing);
        if (c.delayMs) qc.delayMs = c.delayMs;
        return next(qc);
      }),
  };
}

/** Holds a query for its `pending_delay_ms`, after DEBOUNCE: a dropped repeat is not held. */
export function delayLink(control: ControlOverlay): Link {
  return { name: 'pending_delay_ms', cache: 'query', run: (qc, next) => (qc.delayMs ? control.delay(qc.delayMs).then(() => next(qc)) : next(qc)) };
}
