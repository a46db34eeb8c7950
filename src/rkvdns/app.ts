/**
 * Wires the rkvdns request path to the sockets: parse, admit (debounce, MAX_PENDING), overlay, resolve,
 * fit to the transport's size limit. Bad packets never throw out of here; each gets a counted outcome.
 */
import { EXTENDED_BADVERS_HIGH, MIN_UDP, RCODE } from '../dns/constants.js';
import { assemble, headerOnly, sizeOf, type EncodedAnswer } from '../dns/message.js';
import { parseQuery, type Query } from '../dns/query.js';
import { listenDns, type DnsListener, type Transport } from '../dns/server.js';
import { rateLimited, type Logger } from '../common/log.js';
import { KeySnapshots, SNAPSHOT_MS } from '../redis/snapshots.js';
import { openStore, type Store } from '../redis/store.js';
import { describeTarget } from '../redis/target.js';
import { Debouncer, Flights } from './flight.js';
import { ControlOverlay, type QuerySettings } from './overlay.js';
import { resolve, resolutionAging, tooLarge, type Resolution, type ResolverContext } from './resolver.js';
import type { Settings } from './settings.js';
import { ServerStats } from './stats.js';
import { workerId } from '../common/workers.js';

export interface Rkvdns {
  listener: DnsListener;
  stats: ServerStats;
  close(): Promise<void>;
}

const BADVERS: EncodedAnswer = { rcode: RCODE.NOERROR, answers: [], authority: [] };

export function udpLimit(q: Query, s: Settings): number {
  return q.edns ? Math.min(Math.max(q.edns.udpSize, MIN_UDP), s.MAX_UDP_PAYLOAD) : MIN_UDP;
}

/** The client's address without its port: debouncing is per host, not per socket. */
function hostOf(client: string): string {
  return client.slice(0, client.lastIndexOf('#'));
}

type Answer = Buffer | null;

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return v instanceof Promise;
}

/**
 * The handler answers synchronously whenever it can (no CONTROL_KEY read, answer shared from a finished
 * flight): the answer is then sent inside the socket's own callback, with no promise or microtask per
 * query. Only a query that waits for Redis returns a promise.
 */
export function createHandler(base: Settings, ctx: ResolverContext, debouncer: Debouncer) {
  let pending = 0;

  /** Fits one shared answer to this client's own limit, and counts how it went. */
  const deliver = (q: Query, r: Resolution, s: Settings, transport: Transport, client: string): Buffer => {
    ctx.stats.count(r.outcome);
    let answer = r.answer;
    const limit = transport === 'udp' ? udpLimit(q, s) : s.MAX_TCP_PAYLOAD;
    if (transport === 'tcp' && sizeOf(answer, q.question.length) > limit && !s.RETURN_PARTIAL_TCP) {
      ctx.stats.count('too_large_tcp');
      answer = tooLarge(q, s, client, ctx);
    }
    const out = assemble(q, answer, limit, { ...(transport === 'udp' && q.edns ? { optSize: limit } : {}), setTcOnDrop: transport === 'udp' });
    if (out.truncated) ctx.stats.count('truncated');
    else if (out.dropped > 0) ctx.stats.count('partial_tcp');
    return out.packet;
  };

  /** Debounce, then resolve: synchronously when possible, else a promise that holds a pending slot. */
  const answer = (q: Query, qs: QuerySettings, transport: Transport, client: string): Answer | Promise<Answer> => {
    const s = qs.settings;
    if (s.DEBOUNCE && !debouncer.admit(`${hostOf(client)}\0${q.question.toString('latin1').toLowerCase()}`)) {
      ctx.stats.count('dropped_debounce');
      return null;
    }
    if (qs.pendingDelayMs) return waiting(ctx.overlay.delay(qs.pendingDelayMs).then(() => resolve(q, qs, transport, client, ctx)), q, s, transport, client);
    const r = resolve(q, qs, transport, client, ctx);
    return isPromise(r) ? waiting(r, q, s, transport, client) : deliver(q, r, s, transport, client);
  };

  const waiting = async (r: Promise<Resolution>, q: Query, s: Settings, transport: Transport, client: string): Promise<Answer> => {
    pending++;
    try {
      return deliver(q, await r, s, transport, client);
    } finally {
      pending--;
    }
  };

  const handle = (msg: Buffer, transport: Transport, client: string): Answer | Promise<Answer> => {
    ctx.stats.count(transport === 'udp' ? 'udp_queries' : 'tcp_queries');
    const parsed = parseQuery(msg);
    if (!parsed.ok) {
      const r = parsed.rejection;
      ctx.stats.count(`rejected_${r.kind === 'ignore' ? r.reason : r.kind}`);
      if (r.kind === 'ignore') return null;
      ctx.log.debug(`malformed query from ${client}: ${r.reason}`);
      return headerOnly(r.id, r.opcode, r.rd, r.kind === 'notimp' ? RCODE.NOTIMP : RCODE.FORMERR);
    }
    const q = parsed.query;
    if (q.edns && q.edns.version > 0) {
      ctx.stats.count('badvers');
      const limit = transport === 'udp' ? udpLimit(q, base) : base.MAX_TCP_PAYLOAD;
      return assemble(q, BADVERS, limit, { optSize: Math.max(MIN_UDP, Math.min(limit, base.MAX_UDP_PAYLOAD)), setTcOnDrop: false, extendedRcodeHigh: EXTENDED_BADVERS_HIGH }).packet;
    }
    // Beyond MAX_PENDING, UDP queries are dropped (the client retries); TCP clients are held by back-pressure.
    if (pending >= base.MAX_PENDING && transport === 'udp') {
      ctx.stats.count('dropped_pending');
      return null;
    }
    const qs = ctx.overlay.read();
    if (!isPromise(qs)) return answer(q, qs, transport, client);
    // The CONTROL_KEY read holds a pending slot; answer() takes its own if it must wait for Redis too.
    pending++;
    return qs.then(
      (read) => {
        pending--;
        return answer(q, read, transport, client);
      },
      (e: unknown) => {
        pending--;
        throw e;
      },
    );
  };
  return { handle, pending: () => pending };
}

export async function startRkvdns(s: Settings, log: Logger, storeOverride?: Store): Promise<Rkvdns> {
  const store = storeOverride ?? openStore(s.REDIS_SERVER, s.REDIS_TIMEOUT_MS, log);
  // Wait briefly so the first queries do not fail just because the connection is still being made;
  // if Redis is down the server starts anyway and answers SERVFAIL until it is back.
  if (!storeOverride) await store.connect().catch((e: Error) => log.warn(`redis not reachable yet at ${describeTarget(store.target)} (${e.message}); queries get SERVFAIL until it is`));
  const snapshots = new KeySnapshots(Math.max(SNAPSHOT_MS, s.DEFAULT_TTL * 1000));
  const stats = new ServerStats();
  const flights = new Flights<Resolution>(resolutionAging, { prefetch: s.PREFETCH });
  const debouncer = new Debouncer();
  let listener: DnsListener | undefined;
  let handler: ReturnType<typeof createHandler> | undefined;
  const ctx: ResolverContext = {
    store,
    snapshots,
    log,
    // Every error is logged with name and client, up to 50 lines a second per level.
    queryLog: { info: rateLimited((m) => log.info(m), 50), warn: rateLimited((m) => log.warn(m), 50) },
    stats,
    flights,
    overlay: new ControlOverlay(s, store.commands, log),
    gauges: () => ({
      pending: handler?.pending() ?? 0,
      tcp_connections: listener?.tcpConnections() ?? 0,
      flights: flights.size,
      marshalled: flights.shared,
      prefetched: flights.prefetched,
      debounce_entries: debouncer.size,
      ...(workerId() !== undefined ? { worker: workerId()! } : {}),
      key_snapshots: snapshots.size,
      redis_commands_queued: store.queued(),
    }),
  };
  handler = createHandler(s, ctx, debouncer);
  listener = await listenDns(handler.handle, {
    host: s.INTERFACE,
    port: s.PORT,
    tcpTimeoutMs: s.TCP_TIMEOUT * 1000,
    maxTcpConnections: s.MAX_TCP_CONNECTIONS,
    log,
    onTcpEvent: (e) => stats.count(`tcp_${e}`),
  });
  // Expired flights and key snapshots are dropped once a second so memory follows the last 5 s.
  const sweeper = setInterval(() => {
    flights.prune();
    snapshots.prune();
  }, 1000);
  sweeper.unref();
  const timer = s.STATS > 0 ? setInterval(() => log.info(`stats ${stats.lines(ctx.gauges()).join(' ')}`), s.STATS * 1000) : undefined;
  timer?.unref();
  const l = listener;
  return {
    listener: l,
    stats,
    async close() {
      clearInterval(sweeper);
      if (timer) clearInterval(timer);
      await l.close();
      log.info(`final stats ${stats.lines(ctx.gauges()).join(' ')}`);
      store.disconnect();
    },
  };
}
