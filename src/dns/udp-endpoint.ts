/** What a UDP endpoint is and says, whichever way it reads the socket (udp.ts): its answerer, caching of answers, counts. */
import { LAYOUT, type SendFailure } from '../native/addon.js';
import type { ClientAddress } from './client-address.js';

/** Tallies the addon counts cached answers under. */
export const CACHE_TALLIES = LAYOUT.tallies;

/**
 * What an answerer may say of an answer it gives at once, on the batched path: the same query bytes, ID apart,
 * get this answer until `untilMs`, with the TTLs of its answer and authority records one lower (not below 0) at
 * `agesAtMs` and at each second after, as agedAnswer (message.ts) ages them; both are Date.now() times. Each
 * repeat so answered counts under `tally` (0 to CACHE_TALLIES - 1) in the endpoint's `cacheCounts`. The caller sets
 * untilMs to 0 and `next` to null before each query; left at 0, the answer is not cached.
 *
 * With untilMs:
 * - `refreshAtMs` (0: none): the first repeat from then on is a refresh. It gets this answer too, but is also
 *   given to the answerer with `answered` set (and not counted under the tally): the answerer runs it so that
 *   its flight moves on (starts a prefetch) and counts it itself; what it returns is not sent.
 * - `next`: the answer that may replace this one for the same query bytes before untilMs (a prefetched read),
 *   and how it is cached in turn; null if none does. Once it is in it is kept in this one's place; if it cannot
 *   be (its untilMs 0, or the addon refuses it), this one is dropped all the same.
 */
export interface Cacheable {
  untilMs: number;
  agesAtMs: number;
  refreshAtMs: number;
  tally: number;
  /** Set by the caller: the query is a refresh, answered by the addon already. */
  answered: boolean;
  next: Promise<{ answer: Buffer; cacheable: Cacheable } | null> | null;
}

/** A Cacheable that says nothing yet: the answer is not cached. */
export function notCacheable(): Cacheable {
  return { untilMs: 0, agesAtMs: 0, refreshAtMs: 0, tally: 0, answered: false, next: null };
}

export type Answerer = (msg: Buffer, client: ClientAddress, cacheable?: Cacheable) => Buffer | null | Promise<Buffer | null>;

/**
 * Upper bounds (seconds) of the sojourn histogram: from the kernel's receipt of a query to its answer leaving,
 * socket queue included, on the batched path. 2 ms is one of them so the share of answers within it can be read.
 */
export const SOJOURN_BOUNDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] as const;

/** Answers per SOJOURN_BOUNDS bucket (the last beyond every bound) and their total time, seconds. */
export interface Sojourn {
  counts: number[];
  seconds: number;
}

/** What the batched path counted (running counts); all 0 on node:dgram, which counts none of it. */
export interface UdpCounts {
  /** Query datagrams over 4,096 bytes, dropped. */
  oversize: number;
  /** Answers dropped because the socket's send buffer stayed full. */
  send: number;
  /** Answers the kernel refused one by one (the rest of their batch was sent), by cause. */
  sendFailed: Record<SendFailure, number>;
  /** Queries dropped because 4,096 already waited for the main thread. */
  queue: number;
  /** The sojourn histogram (batched only: node:dgram gives no receive time); null on node:dgram. */
  sojourn: Sojourn | null;
  /** Answers held for repeats now. */
  cached: number;
  /** Answers offered for repeats and not kept (too long, malformed, already ended). */
  cacheRefused: number;
  /** Answers held for repeats dropped before their end to make room for newer ones. */
  cacheEvicted: number;
}

export interface UdpEndpoint {
  port: number;
  io: 'dgram' | 'batched';
  /** What the socket counted, read in one call to the addon. */
  counts(): UdpCounts;
  /** Repeats the addon answered itself, per tally (see Cacheable), kept current by the addon; null on node:dgram. */
  cacheCounts: Float64Array | null;
  /** Why the socket no longer serves, if it stopped on an error of its own; null while it serves. */
  failure(): string | null;
  close(): void;
}

export const NO_SEND_FAILURES: Record<SendFailure, number> = { msgsize: 0, access: 0, unreachable: 0, permission: 0, invalid: 0, family: 0, other: 0 };

export interface UdpOptions {
  /**
   * Cached answers (Cacheable) go only to the client they were given to: for when the client decides whether it is
   * answered at all (an address list), so that a client the answerer would refuse never meets another's answer.
   */
  cachePerClient?: boolean;
}
