/**
 * UDP and TCP on one address and port. TCP uses RFC 1035 two-byte length framing, accepts several
 * (pipelined) queries per connection, and closes connections idle for longer than the timeout or
 * sending garbage framing. The handler returns the answer packet, or null to send nothing.
 */
import cluster from 'node:cluster';
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import type { Logger } from '../common/log.js';

export type Transport = 'udp' | 'tcp';
/** Returns the answer (null: send nothing) at once when it can, or a promise when it must wait. */
export type PacketHandler = (msg: Buffer, transport: Transport, client: string) => Buffer | null | Promise<Buffer | null>;

export interface ListenOptions {
  host: string;
  port: number;
  tcpTimeoutMs: number;
  maxTcpConnections: number;
  log: Logger;
  onTcpEvent?: (event: 'accepted' | 'idle_closed' | 'bad_frame' | 'read_deadline' | 'refused') => void;
}

export interface DnsListener {
  host: string;
  port: number;
  tcpConnections(): number;
  close(): Promise<void>;
}

const MIN_MESSAGE = 12;

/** Runs the handler so that a throw becomes a rejected answer, logged as the failure of one query, never an uncaught exception. */
function answerOf(handler: PacketHandler, msg: Buffer, transport: Transport, client: string): Buffer | null | Promise<Buffer | null> {
  try {
    return handler(msg, transport, client);
  } catch (e) {
    return Promise.reject(e as Error);
  }
}

/**
 * Answers go back to the address a query came from, always a literal IP: passing it through at once
 * spares every answer the default lookup's deferred callback before its send (about 8% of the CPU per
 * query, measured). Names (an INTERFACE given as a host name, at bind) still go to dns.lookup.
 */
function literalAddress(address: string, family: number, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  if (net.isIP(address) !== 0) callback(null, address, family);
  else dns.lookup(address, family, callback);
}

function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', lookup: literalAddress as unknown as typeof dns.lookup });
    sock.once('error', reject);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      resolve(sock);
    });
  });
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
  const client = `${sock.remoteAddress}#${sock.remotePort}`;
  let buf: Buffer = Buffer.alloc(0);
  let inflight = 0;
  // A message must arrive whole within the timeout of its first byte: dribbling bytes (slow loris) do not
  // keep a connection open the way the idle timer alone would allow.
  let deadline: NodeJS.Timeout | undefined;
  const clearDeadline = () => {
    clearTimeout(deadline);
    deadline = undefined;
  };
  sock.setNoDelay(true);
  sock.setTimeout(opts.tcpTimeoutMs, () => {
    opts.onTcpEvent?.('idle_closed');
    sock.destroy();
  });
  sock.on('error', () => sock.destroy());
  sock.on('close', clearDeadline);
  const send = (answer: Buffer | null) => {
    if (!answer || sock.destroyed) return;
    const frame = Buffer.allocUnsafe(2 + answer.length);
    frame.writeUInt16BE(answer.length, 0);
    answer.copy(frame, 2);
    sock.write(frame);
  };
  sock.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let progressed = false;
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (len < MIN_MESSAGE) {
        opts.onTcpEvent?.('bad_frame');
        sock.destroy();
        return;
      }
      if (buf.length < 2 + len) break;
      const msg = buf.subarray(2, 2 + len);
      buf = buf.subarray(2 + len);
      progressed = true;
      const answer = answerOf(handler, msg, 'tcp', client);
      if (!(answer instanceof Promise)) {
        send(answer);
        continue;
      }
      if (++inflight >= MAX_TCP_INFLIGHT) sock.pause();
      answer.then(send, (e: Error) => opts.log.error(`tcp query from ${client}: ${e.stack ?? e.message}`)).finally(() => {
        if (--inflight < MAX_TCP_INFLIGHT / 2 && sock.isPaused()) sock.resume();
      });
    }
    if (progressed || buf.length === 0) clearDeadline();
    if (buf.length > 0 && !deadline) {
      deadline = setTimeout(() => {
        opts.onTcpEvent?.('read_deadline');
        sock.destroy();
      }, opts.tcpTimeoutMs);
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
  let udp: dgram.Socket | undefined;
  for (let attempt = 0; ; attempt++) {
    udp = await bindUdp(opts.host, opts.port);
    const port = udp.address().port;
    try {
      await bindTcp(tcp, opts.host, port);
      break;
    } catch (e) {
      udp.close();
      if (opts.port !== 0 || attempt >= 20) throw e;
    }
  }
  const udpSock = udp;
  udpSock.on('message', (msg, rinfo) => {
    const client = `${rinfo.address}#${rinfo.port}`;
    const answer = answerOf(handler, msg, 'udp', client);
    if (!(answer instanceof Promise)) {
      if (answer) udpSock.send(answer, rinfo.port, rinfo.address);
      return;
    }
    answer.then(
      (a) => {
        if (a) udpSock.send(a, rinfo.port, rinfo.address);
      },
      (e: Error) => opts.log.error(`udp query from ${client}: ${e.stack ?? e.message}`),
    );
  });
  udpSock.on('error', (e) => opts.log.error(`udp socket: ${e.message}`));
  const port = udpSock.address().port;
  const sockets = new Set<net.Socket>();
  tcp.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    host: opts.host,
    port,
    tcpConnections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        udpSock.close();
        tcp.close(() => resolve());
      }),
  };
}
