/**
 * DNS over a few long-lived TCP connections per nameserver, each carrying several queries at once (RFC 7766
 * pipelining; answers may come in any order and are matched by ID). A million-key listing is thousands of
 * pages: a connection each cost a handshake and a teardown per page at both ends, and through a resolver a
 * connection slot each. A connection that closes fails only the queries it carried; one that had been idle and
 * closes before answering (the server's idle timeout raced the query) is retried once on a fresh connection.
 * Idle connections are unref'd: they never keep the process alive.
 */
import net from 'node:net';
import { FrameReader, frame } from './framing.js';
import { DnsRefused, DnsTimeout, type Nameserver } from './client-errors.js';

/** Connections per nameserver: enough to spread pages over the server's cores and a resolver's threads. */
export const TCP_CONNECTIONS = 4;

interface Pending {
  resolve: (m: Buffer) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

class ConnectionClosed extends Error {}

class Channel {
  private readonly sock: net.Socket;
  private readonly frames = new FrameReader();
  private readonly pending = new Map<number, Pending>();
  /** Whether any answer came on this connection: a close before the first cannot be the server's idle timeout. */
  answered = false;
  closed = false;

  constructor(
    readonly ns: Nameserver,
    private readonly onClose: (c: Channel) => void,
  ) {
    this.sock = net.connect(ns.port, ns.host);
    this.sock.setNoDelay(true);
    this.sock.unref();
    this.sock.on('data', (d) => this.receive(d));
    this.sock.on('error', (e: NodeJS.ErrnoException) =>
      this.close(e.code === 'ECONNREFUSED' ? new DnsRefused(`nothing answers at ${ns.host}:${ns.port} over TCP (connection refused)`) : e),
    );
    this.sock.on('close', () => this.close(new ConnectionClosed(`TCP connection to ${ns.host}:${ns.port} closed without an answer`)));
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends a query (its ID is rewritten to one free on this connection) and resolves with its answer. */
  exchange(query: Buffer, timeoutMs: number): Promise<Buffer> {
    let id: number;
    do id = Math.floor(Math.random() * 65536);
    while (this.pending.has(id));
    const framed = frame(query);
    framed.writeUInt16BE(id, 2);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.idleCheck();
        reject(new DnsTimeout(`no TCP answer from ${this.ns.host}:${this.ns.port} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.sock.ref();
      this.sock.write(framed);
    });
  }

  private receive(chunk: Buffer): void {
    const { messages, bad } = this.frames.push(chunk);
    for (const m of messages) {
      const p = this.pending.get(m.readUInt16BE(0));
      if (!p) continue; // an answer whose query timed out
      this.answered = true;
      this.pending.delete(m.readUInt16BE(0));
      clearTimeout(p.timer);
      p.resolve(m);
    }
    if (bad) this.sock.destroy(new Error(`TCP answer from ${this.ns.host}:${this.ns.port} is not DNS (a length shorter than a header)`));
    else this.idleCheck();
  }

  private idleCheck(): void {
    if (this.pending.size === 0) this.sock.unref();
  }

  close(e: Error): void {
    if (!this.closed) {
      this.closed = true;
      this.onClose(this);
      this.sock.destroy();
    }
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }
}

export class TcpChannels {
  private readonly open = new Map<string, Channel[]>();

  constructor(private readonly perServer = TCP_CONNECTIONS) {}

  /** One query's answer over TCP, on the least busy of the nameserver's connections (opened as needed). */
  async exchange(ns: Nameserver, query: Buffer, timeoutMs: number): Promise<Buffer> {
    const channel = this.pick(ns);
    const reused = channel.answered;
    try {
      return await channel.exchange(query, timeoutMs);
    } catch (e) {
      if (!(e instanceof ConnectionClosed) || !reused) throw e;
      return this.pick(ns).exchange(query, timeoutMs);
    }
  }

  /** Closes every connection (their queries fail). */
  closeAll(): void {
    for (const list of this.open.values()) for (const c of [...list]) c.close(new ConnectionClosed('closed by the client'));
  }

  private pick(ns: Nameserver): Channel {
    const key = `${ns.host}#${ns.port}`;
    let list = this.open.get(key);
    if (!list) this.open.set(key, (list = []));
    let best: Channel | undefined;
    for (const c of list) if (!best || c.inFlight < best.inFlight) best = c;
    if (best && (best.inFlight === 0 || list.length >= this.perServer)) return best;
    const made = new Channel(ns, (c) => {
      const at = list.indexOf(c);
      if (at >= 0) list.splice(at, 1);
    });
    list.push(made);
    return made;
  }
}
