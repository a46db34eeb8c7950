/**
 * Builds a running rkvdns from its settings: the Redis connection and reader, the chain with the links the
 * settings call for (in the order buildRequestPath lists them), the listeners, and the timers that sweep tables
 * and log stats. Serving lives in the links; nothing here runs per query.
 */
import { localInstruments, type LocalInstruments } from '../common/instrument-sources.js';
import { rateLimited, type Logger } from '../common/log.js';
import { workerId } from '../common/workers.js';
import { clientText } from '../dns/client-address.js';
import { listenDns, type DnsListener, type PacketHandler } from '../dns/server.js';
import { NO_SEND_FAILURES, type UdpCounts } from '../dns/udp.js';
import { connectRedis, type Connection } from '../redis/connection.js';
import { exposedKeys, exposedReader } from '../redis/exposed.js';
import { redisReader, type KeyReader } from '../redis/reader.js';
import { KeySnapshots, SNAPSHOT_MS } from '../redis/snapshots.js';
import { plainRedisError } from '../redis/errors.js';
import { describeTarget, parseRedisTarget } from '../redis/target.js';
import { allowQueryLink } from './acl.js';
import { ResponseRateLimiter, rrlLink } from './rrl.js';
import { admission } from './admission.js';
import { answerCacheFor, chain, type AnswerCacheMode, type Link, type Resolution } from './chain.js';
import { Debouncer, debounceLink } from './debounce.js';
import { Flights } from './flight.js';
import { front } from './front.js';
import { rkvdnsFamilies } from './metrics.js';
import { ControlOverlay, delayLink, overlayLink } from './overlay.js';
import { introspectionAccess } from './introspection.js';
import { AnswerCacheTallies } from './answer-cache.js';
import { resolutionAging, resolver, type ResolverContext } from './resolver.js';
import type { Settings } from './settings.js';
import { ServerStats, type Gauges } from './stats.js';

export interface Rkvdns {
  listener: DnsListener;
  stats: ServerStats;
  /** What /metrics and /readyz show of this process (built on first call: it loads prom-client). */
  instruments(): LocalInstruments;
  close(): Promise<void>;
}

/** Lines a second, per level, for per-query logs and for failures caught at the sockets. */
const QUERY_LOG_RATE = 50;

/** The response rate limiter the settings ask for, or null when every rate is off. */
function rateLimiter(s: Settings): ResponseRateLimiter | null {
  const rate = (r: number) => (r < 0 ? s.RRL_RESPONSES_PER_SECOND : r);
  const o = {
    responsesPerSecond: s.RRL_RESPONSES_PER_SECOND,
    nxdomainsPerSecond: rate(s.RRL_NXDOMAINS_PER_SECOND),
    errorsPerSecond: rate(s.RRL_ERRORS_PER_SECOND),
    slip: s.RRL_SLIP,
    windowSeconds: s.RRL_WINDOW,
    ipv4Prefix: s.RRL_IPV4_PREFIX,
    ipv6Prefix: s.RRL_IPV6_PREFIX,
    exempt: s.RRL_EXEMPT,
    tableSize: s.RRL_TABLE_SIZE,
  };
  return o.responsesPerSecond > 0 || o.nxdomainsPerSecond > 0 || o.errorsPerSecond > 0 ? new ResponseRateLimiter(o) : null;
}

/** The request path of one server, apart from its sockets: what the listeners call, and the state behind it. */
export interface RequestPath {
  handler: PacketHandler;
  stats: ServerStats;
  flights: Flights<Resolution>;
  snapshots: KeySnapshots;
  /** The gauges, given what only the running server knows. */
  gauges: () => Gauges;
  /** With CONTROL_KEY: each new TCP connection's timeout, from the overlay's `tcp_timeout`. */
  connectionTimeoutMs?: () => Promise<number>;
  /** What the links allow the UDP answer cache (answerCacheFor): off, shared, or per client (ALLOW_QUERY). */
  answerCache: AnswerCacheMode;
  /** Drops what has ended: flights, key snapshots, rate-limit accounts idle for RRL_WINDOW. Called once a second. */
  sweep(): void;
}

/** Builds the chain the settings call for, ending in the resolver, behind the server front. */
export function buildRequestPath(
  s: Settings,
  redis: KeyReader,
  log: Logger,
  live: {
    tcpConnections(): number;
    redisQueued(): number;
    udp(): UdpCounts & { batched: boolean };
    /** The addon's counts of cached answers (UdpEndpoint.cacheCounts): read without a call, so reading them per counter is free. */
    udpCacheCounts(): Float64Array | null;
  } = {
    tcpConnections: () => 0,
    redisQueued: () => 0,
    udp: () => ({
      batched: false,
      oversize: 0,
      send: 0,
      sendFailed: NO_SEND_FAILURES,
      queue: 0,
      sojourn: null,
      cached: 0,
      cacheRefused: 0,
      cacheEvicted: 0,
    }),
    udpCacheCounts: () => null,
  },
): RequestPath {
  // Every read, whichever link or operator makes it, sees only the keys served.
  const stats = new ServerStats();
  const reader = exposedReader(redis, exposedKeys(s.EXPOSE_KEYS), (how) => stats.count(how === 'read' ? 'hidden_reads' : 'hidden_listed'));
  const snapshots = new KeySnapshots(Math.max(SNAPSHOT_MS, s.DEFAULT_TTL * 1000));
  const flights = new Flights<Resolution>(resolutionAging, { prefetch: s.PREFETCH, maxFlights: s.MAX_FLIGHTS });
  const debouncer = new Debouncer();
  const queryLog = { info: rateLimited(log.info, QUERY_LOG_RATE), warn: rateLimited(log.warn, QUERY_LOG_RATE) };
  const limits = admission(s.MAX_PENDING, stats);
  const control = s.CONTROL_KEY ? new ControlOverlay(s, s.CONTROL_KEY, reader, log) : null;
  // The overlay may turn DEBOUNCE on per query, so with CONTROL_KEY the debounce link is always there.
  const rrl = rateLimiter(s);
  const links: Link[] = [
    // First, so that it sees every UDP response, refusals and errors included.
    ...(rrl ? [rrlLink(rrl, stats)] : []),
    ...(s.ALLOW_QUERY ? [allowQueryLink(s.ALLOW_QUERY)] : []),
    limits.link,
    ...(control ? [overlayLink(control)] : []),
    ...(s.DEBOUNCE || control ? [debounceLink(debouncer, stats)] : []),
    ...(control ? [delayLink(control)] : []),
  ];
  // Answers the UDP addon caches skip every link, so each link says what its decision depends on: none at
  // all, or the client's address (ALLOW_QUERY: each client then gets its own cached answers).
  const cacheMode = s.UDP_ANSWER_CACHE ? answerCacheFor(links) : 'off';
  const cacheTallies = cacheMode !== 'off' ? new AnswerCacheTallies() : undefined;
  if (cacheTallies)
    stats.countsFrom(() => {
      const counted = live.udpCacheCounts();
      if (counted) cacheTallies.fold(counted, stats, flights);
    });
  const gauges = (): Gauges => {
    // The addon's repeats move `marshalled`.
    stats.sync();
    const udp = live.udp();
    return {
      pending: limits.pending(),
      tcp_connections: live.tcpConnections(),
      flights: flights.size,
      marshalled: flights.marshalled,
      prefetched: flights.prefetched,
      flights_full: flights.full,
      debounce_entries: debouncer.size,
      ...(workerId() !== undefined ? { worker: workerId()! } : {}),
      key_snapshots: snapshots.size,
      ...(rrl ? { rrl_accounts: rrl.size } : {}),
      redis_commands_queued: live.redisQueued(),
      redis_reads_from_replica: s.READ_FROM === 'replica' ? 1 : 0,
      udp_batched: udp.batched ? 1 : 0,
      udp_oversize_dropped: udp.oversize,
      udp_send_dropped: udp.send,
      ...(Object.fromEntries(Object.entries(udp.sendFailed).map(([cause, n]) => [`udp_send_failed_${cause}`, n])) as Gauges),
      udp_queue_dropped: udp.queue,
      udp_cache_entries: udp.cached,
      udp_cache_refused: udp.cacheRefused,
      udp_cache_evicted: udp.cacheEvicted,
    };
  };
  const ctx: ResolverContext = { snapshots, log, queryLog, stats, flights, gauges, introspectionAllowed: introspectionAccess(s.INTROSPECTION) };
  const handler = front(chain(links, resolver(ctx)), { base: s, reader, stats, log, queryLog, ...(cacheTallies ? { cacheTallies } : {}) });
  return {
    handler,
    stats,
    flights,
    snapshots,
    gauges,
    ...(control ? { connectionTimeoutMs: () => control.read().then((c) => c.settings.TCP_TIMEOUT * 1000) } : {}),
    answerCache: cacheMode,
    sweep: () => {
      flights.prune();
      snapshots.prune();
      rrl?.prune();
    },
  };
}

export async function startRkvdns(s: Settings, log: Logger): Promise<Rkvdns> {
  if (s.READ_FROM === 'replica' && parseRedisTarget(s.REDIS_SERVER).kind !== 'sentinel')
    throw new Error(
      'READ_FROM replica needs a REDIS_SERVER behind Sentinel (redis+sentinel://host:port,.../<master name>): only the sentinels say which servers are replicas',
    );
  const conn: Connection = connectRedis(s.REDIS_SERVER, {
    timeoutMs: s.REDIS_TIMEOUT_MS,
    setting: 'REDIS_SERVER',
    autoPipelining: true,
    pipelinedReads: true,
    readFrom: s.READ_FROM,
    log,
  });
  // Wait briefly so the first queries do not fail just because the connection is still being made;
  // if Redis is down the server starts anyway and answers SERVFAIL until it is back.
  await conn
    .connect()
    .catch((e: Error) =>
      log.warn(`redis not reachable yet at ${describeTarget(conn.target)} (${plainRedisError(e.message)}); queries get SERVFAIL until it is`),
    );
  // The gauges read the listener once it exists; no query can arrive before it does.
  const path = buildRequestPath(s, redisReader(conn), log, {
    tcpConnections: () => listener.tcpConnections(),
    redisQueued: () => conn.queued(),
    udp: () => ({ batched: listener.udpIo === 'batched', ...listener.udpCounts() }),
    udpCacheCounts: () => listener.udpCacheCounts,
  });
  const { stats, gauges } = path;
  const failureLog = rateLimited(log.error, QUERY_LOG_RATE);
  const listener: DnsListener = await listenDns(path.handler, {
    host: s.INTERFACE,
    port: s.PORT,
    tcpTimeoutMs: s.TCP_TIMEOUT * 1000,
    maxTcpConnections: s.MAX_TCP_CONNECTIONS,
    udpIo: s.UDP_IO,
    udp: { cachePerClient: path.answerCache === 'per-client' },
    ...(path.connectionTimeoutMs ? { connectionTimeoutMs: path.connectionTimeoutMs } : {}),
    onTcpEvent: (e) => stats.count(`tcp_${e}`),
    onFailure: (e, transport, client) => {
      stats.count('handler_failed');
      const from = clientText(client);
      failureLog(`${transport} query from ${from} failed, answered SERVFAIL: ${e.stack ?? e.message}`, { client: from, transport, cause: 'handler_failed' });
    },
    log,
  });
  // Once a second, so memory follows the last 5 s of flights and the rate limiter's window.
  const sweeper = setInterval(() => path.sweep(), 1000);
  sweeper.unref();
  const timer = s.STATS > 0 ? setInterval(() => log.info(`stats ${stats.lines(gauges()).join(' ')}`), s.STATS * 1000) : undefined;
  timer?.unref();
  let closing = false;
  let instruments: LocalInstruments | undefined;
  const unready = async () => {
    if (closing) return ['shutting down'];
    const redis = await conn.unreachable();
    const udp = listener.udpFailure();
    // Behind Sentinel, nothing to read from until the sentinels name a server.
    if (!redis && conn.target.kind === 'sentinel' && !conn.sentinelServer()) return [`the sentinels of ${conn.target.name} have named no server yet`];
    return [...(redis ? [redis] : []), ...(udp ? [udp] : [])];
  };
  return {
    listener,
    stats,
    instruments: () =>
      (instruments ??= localInstruments(
        rkvdnsFamilies(stats, gauges, () => listener.udpCounts().sojourn),
        unready,
        () => {
          const at = conn.sentinelServer();
          return at && conn.target.kind === 'sentinel' ? `reading from the ${at.role} ${at.at} of ${conn.target.name}` : null;
        },
      )),
    async close() {
      closing = true;
      clearInterval(sweeper);
      if (timer) clearInterval(timer);
      await listener.close();
      log.info(`final stats ${stats.lines(gauges()).join(' ')}`);
      conn.disconnect();
    },
  };
}
