/**
 * UDP and TCP on one address and port. TCP uses RFC 1035 two-byte length framing, accepts several
 * (pipelined) queries per connection, and closes connections idle for longer than the timeout or
 * sending garbage framing. The handler returns the answer packet, or null to send nothing; a handler that
 * throws (or whose promise rejects) gets its query answered SERVFAIL and reported, never a silent drop.
 */
import cluster from 'node:cluster';
import net from 'node:net';
import type { Logger } from '../common/log.js';
import { clientOf, type ClientAddress } from './client-address.js';
import { MIN_UDP, RCODE } from './constants.js';
import { FrameReader, frame } from './framing.js';
import { assemble, headerOnly } from './message.js';
import { parseQuery, type Edns } from './query.js';
import { bindUdp, type Cacheable, type UdpEndpoint, type UdpIo, type UdpOptions } from './udp.js';

export type Transport = 'udp' | 'tcp';
/**
 * Returns the answer (null: send nothing) at once when it can, or a promise when it must wait. `cacheable` is given
 * on the batched UDP path only: the handler may mark an answer it gives at once as cacheable for repeats (udp.ts).
 */
export type PacketHandler = (msg: Buffer, transport: Transport, client: ClientAddress, cacheable?: Cacheable) => Buffer | null | Promise<Buffer | null>;

export interface ListenOptions {
  host: string;
  port: number;
  tcpTimeoutMs: number;
  maxTcpConnections: number;
  log: Logger;
  /** How UDP is read and written (udp.ts); default dgram. */
  udpIo?: UdpIo;
  udp?: UdpOptions;
  onTcpEvent?: (event: TcpEvent) => void;
  /**
   * The timeout for one new connection, when it is not tcpTimeoutMs for all (the CONTROL_KEY overlay sets
   * it per connection); until it is known, tcpTimeoutMs applies.
   */
  connectionTimeoutMs?: () => Promise<number>;
  /** A query whose handler failed; it has been answered SERVFAIL. Rate-limit any logging here. */
  onFailure: (error: Error, transport: Transport, client: ClientAddress) => void;
}

export type TcpEvent = 'accepted' | 'idle_closed' | 'bad_frame' | 'read_deadline' | 'refused' | 'socket_error';

export interface DnsListener {
  host: string;
  port: number;
  /** The UDP path in use. */
  udpIo: UdpEndpoint['io'];
  udpCounts: UdpEndpoint['counts'];
  udpCacheCounts: UdpEndpoint['cacheCounts'];
  /** Why UDP is no longer served (its socket stopped on an error), or null. */
  udpFailure: UdpEndpoint['failure'];
  tcpConnections(): number;
  close(): Promise<void>;
}

/** SERVFAIL for a query whose handling failed: its question echoed when it parses, else the header alone. */
function servfailFor(msg: Buffer): Buffer | null {
  const p = parseQuery(msg);
  const optOf = (edns: Edns | undefined) => (edns ? { size: MIN_UDP, do: edns.do } : undefined);
  if (p.ok) return assemble(p.query, { rcode: RCODE.SERVFAIL, answers: [], authority: [] }, MIN_UDP, { setTcOnDrop: false, opt: optOf(p.query.edns) }).packet;
  const r = p.rejection;
  return r.kind === 'ignore' ? null : headerOnly(r.id, r.opcode, r.rd, RCODE.SERVFAIL, optOf(r.edns));
}

/**
 * Runs the handler so that a failure (a throw, or a rejected promise) becomes a SERVFAIL answer reported to
 * onFailure, as CoreDNS's recover plugin does: never an uncaught exception, never a client left waiting.
 */
function answerOf(
  handler: PacketHandler,
  msg: Buffer,
  transport: Transport,
  client: ClientAddress,
  opts: ListenOptions,
  cacheable?: Cacheable,
): Buffer | null | Promise<Buffer | null> {
  try {
    const answer = handler(msg, transport, client, cacheable);
    // The rejection handler is made only for an answer that waits: a synchronous answer costs no closure.
    return answer instanceof Promise ? answer.catch((e: unknown) => recovered(e, msg, transport, client, opts)) : answer;
  } catch (e) {
    return recovered(e, msg, transport, client, opts);
  }
}

function recovered(e: unknown, msg: Buffer, transport: Transport, client: ClientAddress, opts: ListenOptions): Buffer | null {
  opts.onFailure(e instanceof Error ? e : new Error(String(e)), transport, client);
  return servfailFor(msg);
}

function bindTcp(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // Exclusive outside a cluster, so a taken port is an error; cluster workers share the primary's listener.
    server.listen({ host, port, exclusive: !cluster.isWorker }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Queries one TCP connection may have in flight before we stop reading from it. */
const MAX_TCP_INFLIGHT = 100;

function serveTcpConnection(sock: net.Socket, handler: PacketHandler, opts: ListenOptions): void {
  const client = clientOf(sock.remoteAddress ?? '', sock.remotePort ?? 0);
  const frames = new FrameReader();
  let timeoutMs = opts.tcpTimeoutMs;
  let inflight = 0;
  // Messages read but not yet handled: one chunk may hold hundreds, and the cap counts queries, not chunks.
  let backlog: Buffer[] = [];
  // A message must arrive whole within the timeout of its first byte: dribbling bytes (slow loris) do not
  // keep a connection open the way the idle timer alone would allow.
  let deadline: NodeJS.Timeout | undefined;
  const clearDeadline = () => {
    clearTimeout(deadline);
    deadline = undefined;
  };
  sock.setNoDelay(true);
  sock.setTimeout(timeoutMs, () => {
    opts.onTcpEvent?.('idle_closed');
    sock.destroy();
  });
  opts.connectionTimeoutMs?.().then(
    (ms) => {
      timeoutMs = ms;
      if (!sock.destroyed) sock.setTimeout(ms);
    },
    () => undefined,
  );
  sock.on('error', () => {
    opts.onTcpEvent?.('socket_error');
    sock.destroy();
  });
  sock.on('close', () => {
    clearDeadline();
    backlog = [];
  });
  const send = (answer: Buffer | null) => {
    if (answer && !sock.destroyed) sock.write(frame(answer));
  };

  const drain = () => {
    let i = 0;
    for (; i < backlog.length && inflight < MAX_TCP_INFLIGHT; i++) {
      const answer = answerOf(handler, backlog[i]!, 'tcp', client, opts);
      if (!(answer instanceof Promise)) {
        send(answer);
        continue;
      }
      inflight++;
      void answer.then(send).finally(() => {
        inflight--;
        if (backlog.length > 0) drain();
        else if (inflight < MAX_TCP_INFLIGHT / 2 && sock.isPaused() && !sock.destroyed) sock.resume();
      });
    }
    backlog = i === backlog.length ? [] : backlog.slice(i);
    // Stop reading while the cap is reached or messages wait: the kernel's buffers, then the client, hold the rest.
    if (inflight >= MAX_TCP_INFLIGHT || backlog.length > 0) sock.pause();
  };
  sock.on('data', (chunk: Buffer) => {
    const { messages, bad } = frames.push(chunk);
    if (messages.length > 0) {
      backlog = backlog.length > 0 ? [...backlog, ...messages] : messages;
      drain();
    }
    if (bad) {
      opts.onTcpEvent?.('bad_frame');
      sock.destroy();
      return;
    }
    if (messages.length > 0 || frames.held === 0) clearDeadline();
    if (frames.held > 0 && !deadline) {
      deadline = setTimeout(() => {
        opts.onTcpEvent?.('read_deadline');
        sock.destroy();
      }, timeoutMs);
    }
  });
}

export async function listenDns(handler: PacketHandler, opts: ListenOptions): Promise<DnsListener> {
  const tcp = net.createServer((sock) => {
    opts.onTcpEvent?.('accepted');
    serveTcpConnection(sock, handler, opts);
  });
  // Beyond the cap the kernel-accepted connection is closed at once: half-open or idle clients cannot
  // exhaust the server.
  tcp.maxConnections = opts.maxTcpConnections;
  tcp.on('drop', () => opts.onTcpEvent?.('refused'));
  // With port 0, take the UDP port the kernel chose and claim the same one on TCP; retry if it is taken.
  const answer = (msg: Buffer, client: ClientAddress, cacheable?: Cacheable) => answerOf(handler, msg, 'udp', client, opts, cacheable);
  let udp: UdpEndpoint | undefined;
  for (let attempt = 0; ; attempt++) {
    udp = await bindUdp(opts.udpIo ?? 'dgram', opts.host, opts.port, answer, opts.log, opts.udp);
    try {
      await bindTcp(tcp, opts.host, udp.port);
      break;
    } catch (e) {
      udp.close();
      if (opts.port !== 0 || attempt >= 20) throw e;
    }
  }
  const udpEndpoint = udp;
  const port = udp.port;
  const sockets = new Set<net.Socket>();
  tcp.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    host: opts.host,
    port,
    udpIo: udpEndpoint.io,
    udpCounts: () => udpEndpoint.counts(),
    udpCacheCounts: udpEndpoint.cacheCounts,
    udpFailure: () => udpEndpoint.failure(),
    tcpConnections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        udpEndpoint.close();
        tcp.close(() => resolve());
      }),
  };
}
