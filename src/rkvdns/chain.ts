/**
 * The request path as a chain of links, each with one job, in the manner of CoreDNS plugins. A link gets the
 * query's context and the rest of the chain; it answers itself (a Resolution, or null to send nothing) or
 * passes the query on. setup.ts builds the chain once from the settings, with only the links they call for.
 *
 * Links answer synchronously whenever they can: a promise only appears where a query waits (for Redis, for
 * CONTROL_KEY), so a repeat answered from its flight costs no microtask.
 */
import type { ClientAddress } from '../dns/client-address.js';
import type { Query } from '../dns/query.js';
import type { Transport } from '../dns/server.js';
import type { EncodedAnswer } from '../dns/message.js';
import type { KeyReader } from '../redis/reader.js';
import type { Counter } from './counters.js';
import type { HeldResult } from './flight.js';
import type { Settings } from './settings.js';

/**
 * One query on its way through the chain. Its servedUntil, agesAt, refreshAt and successor (HeldResult) are written
 * by the flight table when the resolver answers at once from a flight (Date.now() ms); servedUntil 0: not known.
 */
export interface QueryContext extends HeldResult<Resolution> {
  readonly query: Query;
  readonly transport: Transport;
  /** Who asked: for per-client links, and (as text) for logs. */
  readonly client: ClientAddress;
  /** The configured settings, or the CONTROL_KEY overlay's for this query. */
  settings: Settings;
  /** Where this query's Redis reads go. */
  reader: KeyReader;
  /** Set by the CONTROL_KEY overlay (`pending_delay_ms`): how long to hold the query before it is resolved. */
  delayMs?: number;
}

export interface Resolution {
  answer: EncodedAnswer;
  /** What happened, for the counters. */
  outcome: Counter;
  /** Send with TC=1 whatever its size (a response-rate-limiting slip). */
  truncate?: boolean;
}

/** A resolution, or null: send nothing (the query was dropped). */
export type Handled = Resolution | null;
export type Next = (qc: QueryContext) => Handled | Promise<Handled>;
/**
 * What a link's decisions rest on, which is what decides whether the UDP addon may answer a repeat from its answer
 * cache without running the chain (and so without running this link):
 * - 'bytes': the query's bytes and the clock only (or nothing a cached answer would meet): its answer to a repeat
 *   is the cached one;
 * - 'client': the client's address too: answers may be cached, per client;
 * - 'query': each query, or a client's history (rates, repeats, per-query overlays): nothing may skip it.
 */
export type CacheRule = 'bytes' | 'client' | 'query';

export interface Link {
  readonly name: string;
  readonly cache: CacheRule;
  run(qc: QueryContext, next: Next): Handled | Promise<Handled>;
}

/** How the UDP answer cache may work behind some links: off, shared by all clients, or per client. */
export type AnswerCacheMode = 'off' | 'shared' | 'per-client';

export function answerCacheFor(links: readonly Link[]): AnswerCacheMode {
  if (links.some((l) => l.cache === 'query')) return 'off';
  return links.some((l) => l.cache === 'client') ? 'per-client' : 'shared';
}

export function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return v instanceof Promise;
}

/** The links in order, ending in `last`. */
export function chain(links: readonly Link[], last: Next): Next {
  return links.reduceRight<Next>((next, link) => (qc) => link.run(qc, next), last);
}
