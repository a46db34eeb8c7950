/**
 * Wires the rkvdns request path to the sockets: parse, resolve, fit to the transport's size limit.
 * Bad packets never throw out of here; each gets a counted outcome.
 */
import type { Redis } from 'ioredis';
import { EXTENDED_BADVERS_HIGH, MIN_UDP, RCODE } from '../dns/constants.js';
import { assemble, headerOnly, sizeOf, type EncodedAnswer } from '../dns/message.js';
import { parseQuery, type Query } from '../dns/query.js';
import { listenDns, type DnsListener, type Transport } from '../dns/server.js';
import type { Logger } from '../common/log.js';
import { connectRedis } from '../redis/client.js';
import { resolve, tooLarge, type ResolverContext } from './resolver.js';
import type { Settings } from './settings.js';
import { ServerStats } from './stats.js';

export interface Rkvdns {
  listener: DnsListener;
  stats: ServerStats;
  close(): Promise<void>;
}

const BADVERS: EncodedAnswer = { rcode: RCODE.NOERROR, answers: [], authority: [] };

export function udpLimit(q: Query, s: Settings): number {
  return q.edns ? Math.min(Math.max(q.edns.udpSize, MIN_UDP), s.MAX_UDP_PAYLOAD) : MIN_UDP;
}

export function createHandler(s: Settings, ctx: ResolverContext) {
  let pending = 0;
  const handle = async (msg: Buffer, transport: Transport, client: string): Promise<Buffer | null> => {
    ctx.stats.count(`${transport}_queries`);
    const parsed = parseQuery(msg);
    if (!parsed.ok) {
      const r = parsed.rejection;
      ctx.stats.count(`rejected_${r.kind === 'ignore' ? r.reason : r.kind}`);
      if (r.kind === 'ignore') return null;
      ctx.log.debug(`malformed query from ${client}: ${r.reason}`);
      return headerOnly(r.id, r.opcode, r.rd, r.kind === 'notimp' ? RCODE.NOTIMP : RCODE.FORMERR);
    }
    const q = parsed.query;
    const limit = transport === 'udp' ? udpLimit(q, s) : s.MAX_TCP_PAYLOAD;
    const optSize = transport === 'udp' && q.edns ? limit : undefined;
    if (q.edns && q.edns.version > 0) {
      ctx.stats.count('badvers');
      return assemble(q, BADVERS, limit, { optSize: optSize ?? MIN_UDP, setTcOnDrop: false, extendedRcodeHigh: EXTENDED_BADVERS_HIGH }).packet;
    }
    if (pending >= s.MAX_PENDING && transport === 'udp') {
      ctx.stats.count('dropped_pending');
      return null;
    }
    pending++;
    let answer: EncodedAnswer;
    try {
      const r = await resolve(q, s, client, ctx);
      answer = r.answer;
      ctx.stats.count(r.outcome);
    } finally {
      pending--;
    }
    if (transport === 'tcp' && sizeOf(answer, q.question.length) > limit && !s.RETURN_PARTIAL_TCP) {
      ctx.stats.count('too_large_tcp');
      answer = tooLarge(q, s, client, ctx);
    }
    const out = assemble(q, answer, limit, { ...(optSize !== undefined ? { optSize } : {}), setTcOnDrop: transport === 'udp' });
    if (out.truncated) ctx.stats.count('truncated');
    else if (out.dropped > 0) ctx.stats.count('partial_tcp');
    return out.packet;
  };
  return { handle, pending: () => pending };
}

export async function startRkvdns(s: Settings, log: Logger, redisOverride?: Redis): Promise<Rkvdns> {
  const redis = redisOverride ?? connectRedis(s.REDIS_SERVER, s.REDIS_TIMEOUT_MS, log);
  if (redis.status === 'wait') {
    // Wait briefly so the first queries do not fail just because the connection is still being made;
    // if Redis is down the server starts anyway and answers SERVFAIL until it is back.
    await redis.connect().catch((e: Error) => log.warn(`redis not reachable yet at ${s.REDIS_SERVER} (${e.message}); queries get SERVFAIL until it is`));
  }
  const stats = new ServerStats();
  let listener: DnsListener | undefined;
  let handler: ReturnType<typeof createHandler> | undefined;
  const ctx: ResolverContext = {
    redis,
    log,
    stats,
    gauges: () => ({ pending: handler?.pending() ?? 0, tcp_connections: listener?.tcpConnections() ?? 0 }),
  };
  handler = createHandler(s, ctx);
  listener = await listenDns(handler.handle, {
    host: s.INTERFACE,
    port: s.PORT,
    tcpTimeoutMs: s.TCP_TIMEOUT * 1000,
    maxTcpConnections: s.MAX_TCP_CONNECTIONS,
    log,
    onTcpEvent: (e) => stats.count(`tcp_${e}`),
  });
  const timer = s.STATS > 0 ? setInterval(() => log.info(`stats ${stats.lines(ctx.gauges()).join(' ')}`), s.STATS * 1000) : undefined;
  timer?.unref();
  const l = listener;
  return {
    listener: l,
    stats,
    async close() {
      if (timer) clearInterval(timer);
      await l.close();
      redis.disconnect();
    },
  };
}
