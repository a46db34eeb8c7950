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
import type { Held, Successor } from './flight.js';
import type { Settings } from './settings.js';

/** One query on its way through the chain. */
export interface QueryContext extends Held {
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
  /**
   * With servedUntil, agesAt and refreshAt (Held): set by the resolver when it answers at once from a flight, as
   * Flights says them (Date.now() ms). servedUntil 0: not known.
   */
  successor: Promise<Successor<Resolution> | null> | null;
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
export type Link = (qc: QueryContext, next: Next) => Handled | Promise<Handled>;

export function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return v instanceof Promise;
}

/** The links in order, ending in `last`. */
export function chain(links: readonly Link[], last: Next): Next {
  return links.reduceRight<Next>((next, link) => (qc) => link(qc, next), last);
}
