/**
 * DNS lookups for totals, with an in-process cache that honours the TTLs the DNS gives, so repeated totals
 * in one process (watch mode, trend) do not re-ask what is still fresh.
 */
import { LRUCache } from 'lru-cache';
import { QTYPE, RCODE, RCODE_NAME } from '../dns/constants.js';
import { DnsTimeout, type DnsClient } from '../dns/client.js';
import { decodeResponse, readName, txtTexts, type AnswerRecords, type Response } from '../dns/response.js';

/** The records of an answer in place: the message and where each record is. */
export interface Answer {
  message: Buffer;
  records: AnswerRecords;
}

/**
 * Records as latin1 text (one character per byte, so any bytes pass intact): each a list of strings, decoded when
 * first asked for. `answer` is the answer itself, for readers that decode a large one their own way (listing pages).
 */
export type Lookup = (
  | { kind: 'records'; readonly records: string[][]; answer?: Answer }
  | { kind: 'nxdomain' }
  | { kind: 'empty' }
  | { kind: 'failed'; reason: string; timedOut?: boolean }
) & {
  /** The answer came through a recursive resolver (RA=1) rather than from rkvdns itself. */
  viaResolver?: boolean;
  /** The resolver said it served the answer past its TTL (EDE 3 or 19: it could not refresh it). */
  stale?: boolean;
};

/** A failed or empty lookup in a few words, for error texts. */
export function describe(l: Lookup): string {
  return l.kind === 'failed' ? l.reason : l.kind.toUpperCase();
}

const RCODE_NAMES = new Set(Object.values(RCODE_NAME));

/** Whether anything answered: an rcode, even SERVFAIL, is an answer; a timeout or a refused port is not. */
export function answered(l: Lookup): boolean {
  return l.kind !== 'failed' || RCODE_NAMES.has(l.reason) || l.reason.startsWith('rcode ');
}

/** RFC 8914's Stale Answer and Stale NXDOMAIN Answer. */
const EDE_STALE_ANSWER = 3;
const EDE_STALE_NXDOMAIN = 19;

type Parse = (msg: Buffer, off: number, length: number) => string[];

/**
 * A cached lookup. Records are kept as the answer's bytes and read again on each hit: a million-key listing is
 * about 50 MB of answers outside the JavaScript heap, where as strings it would be millions of objects for the garbage
 * collector to walk for as long as they are cached.
 */
type Cached = { lookup: Lookup } | { answer: Buffer; qtype: number; parse: Parse; flags: Pick<Lookup, 'viaResolver' | 'stale'> };

/** Each record of an answer decoded by `parse`. */
function textsOf({ message, records }: Answer, parse: Parse): string[][] {
  return Array.from({ length: records.count }, (_, i) => parse(message, records.rdataOffset(i), records.rdataLength(i)));
}

/** The records of `qtype` in a response, decoded by `parse` when first asked for; null when there are none. */
function found(
  r: Response,
  qtype: number,
  parse: Parse,
  flags: Pick<Lookup, 'viaResolver' | 'stale'>,
): (Extract<Lookup, { kind: 'records' }> & { answer: Answer }) | null {
  const answer = { message: r.message, records: r.answers.ofType(qtype) };
  if (answer.records.count === 0) return null;
  let records: string[][] | undefined;
  return {
    kind: 'records',
    get records() {
      return (records ??= textsOf(answer, parse));
    },
    answer,
    ...flags,
  };
}

function fromCache(c: Cached): Lookup {
  if ('lookup' in c) return c.lookup;
  return found(decodeResponse(c.answer), c.qtype, c.parse, c.flags)!;
}

/** Answers an in-process cache keeps, the least recently used dropped first. */
const MAX_CACHED_ANSWERS = 200_000;

/** An answer larger than this is a listing page (or a whole listing) rather than a value or a description. */
export const LARGE_ANSWER_BYTES = 4096;

export class Lookups {
  /**
   * Bounded by a size of one per answer rather than by `max`: lru-cache fills arrays of `max` entries when made, which
   * for 200,000 took 20-30 ms at the start of every total.
   */
  private readonly cache = new LRUCache<string, Cached>({ maxSize: MAX_CACHED_ANSWERS, sizeCalculation: () => 1 });
  /** Lookups on their way: a second asker of the same name waits for the first one's answer (dashboard viewers). */
  private readonly inflight = new Map<string, Promise<Lookup>>();
  hits = 0;
  /** Answers the resolver said were stale (served past their TTL). */
  staleAnswers = 0;

  /**
   * `keepLarge`: whether answers over LARGE_ANSWER_BYTES are cached too. A process that totals again within the TTL
   * (watch mode, the dashboard) reads its pages from here; one that totals once never reads them again, and keeping a
   * million-key walk's 50 MB of pages only costs it memory and time (fresh memory to fault in, a larger heap to walk).
   */
  constructor(
    private readonly client: DnsClient,
    private readonly keepLarge = true,
  ) {}

  get queries(): number {
    return this.client.queries;
  }

  /** The timeout of one try, ms. */
  get timeoutMs(): number {
    return this.client.timeoutMs;
  }

  /** Tries per lookup. */
  get tries(): number {
    return this.client.tries;
  }

  /**
   * The zone's SOA, asked once and never cached: whether anything answers for the zone on this path. rkvdns answers
   * it from its settings alone (SERVFAIL without RKVDNS_FQDN), so an answer says nothing of Redis.
   */
  async zoneAnswer(zone: readonly Buffer[], display: string): Promise<Lookup> {
    return this.lookup(zone, QTYPE.SOA, display, () => [], false, 1, false);
  }

  /** `tcp`: for answers known to be large, skip the UDP attempt that would only come back truncated. `tries`: instead of the client's. */
  async txt(labels: readonly Buffer[], display: string, tcp = false, tries?: number): Promise<Lookup> {
    return this.lookup(labels, QTYPE.TXT, display, txtTexts, tcp, tries);
  }

  /** PTR targets, as dotted names. */
  async ptr(labels: readonly Buffer[], display: string): Promise<Lookup> {
    return this.lookup(labels, QTYPE.PTR, display, (msg, off) => [
      readName(msg, off)
        .labels.map((l) => l.toString('latin1'))
        .join('.'),
    ]);
  }

  private async lookup(labels: readonly Buffer[], qtype: number, display: string, parse: Parse, tcp = false, tries?: number, cache = true): Promise<Lookup> {
    const id = `${qtype}\0${labels.map((l) => l.toString('latin1')).join('\0')}`;
    const cached = cache ? this.cache.get(id) : undefined;
    if (cached) {
      this.hits++;
      return fromCache(cached);
    }
    const pending = cache ? this.inflight.get(id) : undefined;
    if (pending) {
      this.hits++;
      return pending;
    }
    if (!cache) return this.ask(id, labels, qtype, display, parse, tcp, tries, cache);
    const asked = this.ask(id, labels, qtype, display, parse, tcp, tries, cache).finally(() => this.inflight.delete(id));
    this.inflight.set(id, asked);
    return asked;
  }

  private async ask(
    id: string,
    labels: readonly Buffer[],
    qtype: number,
    display: string,
    parse: Parse,
    tcp: boolean,
    tries: number | undefined,
    cache: boolean,
  ): Promise<Lookup> {
    let result: Lookup;
    let ttl = 0;
    let answer: Buffer | undefined;
    try {
      const r = await this.client.query(labels, qtype, display, tcp, tries);
      if (r.rcode === RCODE.NOERROR) {
        const records = found(r, qtype, parse, {});
        result = records ?? { kind: 'empty' };
        ttl = r.negativeTtl ?? 0;
        if (records) {
          ttl = records.answer.records.minTtl();
          answer = r.message;
        }
      } else if (r.rcode === RCODE.NXDOMAIN) {
        result = { kind: 'nxdomain' };
        ttl = r.negativeTtl ?? 0;
      } else {
        result = { kind: 'failed', reason: RCODE_NAME[r.rcode] ?? `rcode ${r.rcode}` };
      }
      if (r.ra) result.viaResolver = true;
      if (r.ede.includes(EDE_STALE_ANSWER) || r.ede.includes(EDE_STALE_NXDOMAIN)) {
        result.stale = true;
        this.staleAnswers++;
      }
    } catch (e) {
      // A timeout on every try: no answer at all, not a refusal.
      result = { kind: 'failed', reason: (e as Error).message, ...(e instanceof DnsTimeout ? { timedOut: true } : {}) };
    }
    if (ttl > 0 && cache && (this.keepLarge || !answer || answer.length <= LARGE_ANSWER_BYTES)) {
      const flags = { ...(result.viaResolver ? { viaResolver: true } : {}), ...(result.stale ? { stale: true } : {}) };
      // A copy when the answer is a small view into a larger buffer that the cache would otherwise keep alive; a
      // listing page (most of the TCP read it came in) is kept as it is: a million-key walk is 50 MB of them.
      const kept = answer && answer.length * 4 < answer.buffer.byteLength ? Buffer.from(answer) : answer;
      this.cache.set(id, kept ? { answer: kept, qtype, parse, flags } : { lookup: result }, { ttl: ttl * 1000 });
    }
    return result;
  }
}
