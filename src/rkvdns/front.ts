/**
 * The server front, between the sockets and the chain: count the packet, parse it (malformed ones get a
 * counted FORMERR/NOTIMP or nothing), answer EDNS versions above 0 with BADVERS, run the chain, and fit its
 * answer to the transport's size limit (TC on UDP, MAX_TCP_PAYLOAD on TCP). Truncation lives here only.
 */
import { clientText } from '../dns/client-address.js';
import { EXTENDED_BADVERS_HIGH, MIN_UDP, RCODE } from '../dns/constants.js';
import { assemble, headerOnly, sizeOf, type EncodedAnswer, type Opt } from '../dns/message.js';
import { parseQuery, type Query } from '../dns/query.js';
import type { PacketHandler } from '../dns/server.js';
import { notCacheable, type Cacheable } from '../dns/udp.js';
import type { Logger } from '../common/log.js';
import type { KeyReader } from '../redis/reader.js';
import { isPromise, type Handled, type Next, type QueryContext, type Resolution } from './chain.js';
import type { Successor } from './flight.js';
import { tooLarge, type ResolverContext } from './resolver.js';
import type { AnswerCacheTallies } from './answer-cache.js';
import type { Settings } from './settings.js';
import type { ServerStats } from './stats.js';

const BADVERS: EncodedAnswer = { rcode: RCODE.NOERROR, answers: [], authority: [] };

/** The UDP size this client can take: its EDNS size within [512, MAX_UDP_PAYLOAD], or 512 without EDNS. */
function udpLimit(q: Pick<Query, 'edns'>, s: Settings): number {
  return q.edns ? Math.min(Math.max(q.edns.udpSize, MIN_UDP), s.MAX_UDP_PAYLOAD) : MIN_UDP;
}

/**
 * The OPT record of an answer to a query that had one, on either transport (RFC 6891 7: a responder that sees OPT
 * answers with OPT, errors included): the UDP size agreed with this client, DO echoed.
 */
function optFor(q: Pick<Query, 'edns'>, s: Settings, extendedRcodeHigh?: number): Opt | undefined {
  return q.edns ? { size: udpLimit(q, s), do: q.edns.do, ...(extendedRcodeHigh ? { extendedRcodeHigh } : {}) } : undefined;
}

export interface FrontOptions {
  base: Settings;
  reader: KeyReader;
  stats: ServerStats;
  log: Logger;
  queryLog: ResolverContext['queryLog'];
  /**
   * Given when nothing but the query's bytes (and, with ALLOW_QUERY, the client's address) decides its answer (no
   * RRL, DEBOUNCE or CONTROL_KEY): answers served at once from a flight are then marked reusable for the batched
   * UDP path's cacheTallies.
   */
  cacheTallies?: AnswerCacheTallies;
}

export function front(serve: Next, o: FrontOptions): PacketHandler {
  const { base, stats, cacheTallies } = o;

  /** The packet for one (possibly shared) answer within `limit`: on UDP, TC set when records do not fit. */
  const fit = (qc: QueryContext, answer: EncodedAnswer, limit: number, truncate: boolean | undefined) =>
    assemble(qc.query, answer, limit, {
      ...(qc.query.edns ? { opt: optFor(qc.query, qc.settings) } : {}),
      setTcOnDrop: qc.transport === 'udp',
      ...(truncate ? { truncate: true } : {}),
    });

  /** Fits one (possibly shared) answer to this client's own limit, and counts how it went. */
  const deliver = (qc: QueryContext, r: Handled, cacheable?: Cacheable): Buffer | null => {
    if (r === null) return null;
    stats.count(r.outcome);
    const { query: q, settings: s, transport } = qc;
    let answer = r.answer;
    const limit = transport === 'udp' ? udpLimit(q, s) : s.MAX_TCP_PAYLOAD;
    if (transport === 'tcp' && sizeOf(answer, q.question.length) > limit && !s.RETURN_PARTIAL_TCP) {
      stats.count('too_large_tcp');
      answer = tooLarge(q, s, qc.client, o.queryLog);
    }
    const out = fit(qc, answer, limit, r.truncate);
    if (out.truncated && !r.truncate) stats.count('truncated');
    else if (out.dropped > 0) stats.count('partial_tcp');
    if (cacheable && qc.servedUntil > 0 && cacheTallies && !r.truncate) {
      cacheTallies.mark(cacheable, qc, r.outcome, out.truncated);
      if (qc.successor) cacheable.next = qc.successor.then((n) => n && replacement(qc, n, limit, cacheTallies));
    }
    return out.packet;
  };

  /**
   * The answer a repeat of `qc` gets once a prefetched result has replaced the one it was given (UDP only), within
   * the same limit, marked cacheable as that result's flight says. Nothing is counted: it is not sent, only
   * cached for repeats.
   */
  const replacement = (qc: QueryContext, n: Successor<Resolution>, limit: number, tallies: AnswerCacheTallies) => {
    const out = fit(qc, n.result.answer, limit, n.result.truncate);
    const cacheable = notCacheable();
    if (!n.result.truncate) tallies.mark(cacheable, n, n.result.outcome, out.truncated);
    return { answer: out.packet, cacheable };
  };

  return (msg, transport, client, cacheable) => {
    stats.count(transport === 'udp' ? 'udp_queries' : 'tcp_queries');
    // A refresh: the addon sent the answer it kept, and the query runs here only so that its flight moves on.
    if (cacheable?.answered) stats.count('udp_cache_answers');
    const parsed = parseQuery(msg);
    if (!parsed.ok) {
      const r = parsed.rejection;
      if (r.kind === 'ignore') {
        stats.count(r.reason === 'short' ? 'rejected_short' : 'rejected_response');
        return null;
      }
      stats.count(r.kind === 'notimp' ? 'rejected_notimp' : 'rejected_formerr');
      o.log.debug(`malformed query from ${clientText(client)}: ${r.reason}`);
      return headerOnly(r.id, r.opcode, r.rd, r.kind === 'notimp' ? RCODE.NOTIMP : RCODE.FORMERR, optFor(r, base));
    }
    const q = parsed.query;
    if (q.edns && q.edns.version > 0) {
      stats.count('badvers');
      const limit = transport === 'udp' ? udpLimit(q, base) : base.MAX_TCP_PAYLOAD;
      return assemble(q, BADVERS, limit, { opt: optFor(q, base, EXTENDED_BADVERS_HIGH), setTcOnDrop: false }).packet;
    }
    const qc: QueryContext = { query: q, transport, client, settings: base, reader: o.reader, servedUntil: 0, agesAt: 0, refreshAt: 0, successor: null };
    const r = serve(qc);
    return isPromise(r) ? r.then((h) => deliver(qc, h)) : deliver(qc, r, cacheable);
  };
}
