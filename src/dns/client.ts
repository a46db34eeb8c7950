/**
 * A small stub resolver client: queries built from raw labels (a label may hold '.' or ';'), UDP with EDNS
 * first and TCP when the answer is truncated, a timeout per try and retries across the given servers.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { CLASS_IN, QTYPE } from './constants.js';
import { encodeName } from './message.js';
import { decodeResponse, type Response } from './response.js';
import { DnsRefused, DnsTimeout, type Nameserver } from './client-errors.js';
import { TcpChannels } from './tcp-channels.js';

export { DnsRefused, DnsTimeout, type Nameserver };

export interface ClientOptions {
  servers: Nameserver[];
  timeoutMs: number;
  tries: number;
  /** Called with each query and what came of it (for --debug). */
  trace?: (line: string) => void;
}

const EDNS_SIZE = 1232;

export function parseNameserver(spec: string): Nameserver {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec) ?? /^([^:]+)(?::(\d+))?$/.exec(spec);
  if (m) return { host: m[1]!, port: m[2] ? Number(m[2]) : 53 };
  if (net.isIPv6(spec)) return { host: spec, port: 53 };
  throw new Error(`nameserver '${spec}' is not HOST[:PORT] or [IPv6]:PORT`);
}

/** The nameservers of /etc/resolv.conf, as the system resolver would use them. */
export function systemNameservers(path = '/etc/resolv.conf'): Nameserver[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [{ host: '127.0.0.1', port: 53 }];
  }
  const servers = [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => ({ host: m[1]!.replace(/%.*$/, ''), port: 53 }));
  return servers.length ? servers : [{ host: '127.0.0.1', port: 53 }];
}

export function buildQuery(id: number, labels: readonly Buffer[], qtype: number, edns: boolean): Buffer {
  const name = encodeName(labels);
  const msg = Buffer.alloc(12 + name.length + 4 + (edns ? 11 : 0));
  msg.writeUInt16BE(id, 0);
  msg.writeUInt16BE(0x0100, 2); // RD: ask a recursive resolver to do the work
  msg.writeUInt16BE(1, 4);
  msg.writeUInt16BE(edns ? 1 : 0, 10);
  name.copy(msg, 12);
  let o = 12 + name.length;
  msg.writeUInt16BE(qtype, o);
  msg.writeUInt16BE(CLASS_IN, o + 2);
  o += 4;
  if (edns) {
    msg.writeUInt16BE(QTYPE.OPT, o + 1);
    msg.writeUInt16BE(EDNS_SIZE, o + 3);
  }
  return msg;
}

/** Queries one UDP socket carries before a fresh one (a fresh source port) takes its place. */
const MAX_SOCKET_USES = 100;

interface Lease {
  sock: dgram.Socket;
  uses: number;
}

/**
 * UDP sockets reused across queries, one query at a time each, as c-ares does: making and closing a
 * socket costs more than the exchange itself when a totalizer asks thousands of names. Each is connected to its
 * nameserver, so that a port where nothing listens is told at once (ECONNREFUSED) rather than by a timeout. A
 * socket serves at most MAX_SOCKET_USES queries; one whose query timed out or failed is closed, so a late answer
 * never meets the next query. Sockets are unref'd: idle ones never keep the process alive.
 */
class UdpSockets {
  private readonly idle = new Map<string, Lease[]>();

  async acquire(ns: Nameserver): Promise<Lease> {
    const lease = this.idle.get(`${ns.host}#${ns.port}`)?.pop();
    if (lease) return lease;
    // isIP, not isIPv6: it tries IPv4 first, and an IPv4 nameserver then never compiles Node's IPv6 pattern (10 ms of
    // a fresh totalize's first query).
    const sock = dgram.createSocket(net.isIP(ns.host) === 6 ? 'udp6' : 'udp4');
    sock.unref();
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.connect(ns.port, ns.host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    return { sock, uses: 0 };
  }

  release(ns: Nameserver, lease: Lease, reusable: boolean): void {
    const key = `${ns.host}#${ns.port}`;
    if (reusable && ++lease.uses < MAX_SOCKET_USES) {
      let list = this.idle.get(key);
      if (!list) this.idle.set(key, (list = []));
      list.push(lease);
    } else lease.sock.close();
  }
}

async function udpExchange(sockets: UdpSockets, ns: Nameserver, query: Buffer, id: number, timeoutMs: number): Promise<Buffer> {
  const lease = await sockets.acquire(ns);
  return new Promise((resolve, reject) => {
    const done = (reusable: boolean, fn: () => void) => {
      clearTimeout(timer);
      lease.sock.off('message', onMessage);
      lease.sock.off('error', onError);
      sockets.release(ns, lease, reusable);
      fn();
    };
    const onMessage = (m: Buffer) => {
      // Ignore stray datagrams that are not the answer to this query.
      if (m.length >= 2 && m.readUInt16BE(0) === id) done(true, () => resolve(m));
    };
    const onError = (e: NodeJS.ErrnoException) =>
      done(false, () => reject(e.code === 'ECONNREFUSED' ? new DnsRefused(`nothing answers at ${ns.host}:${ns.port} (connection refused)`) : e));
    const timer = setTimeout(() => done(false, () => reject(new DnsTimeout(`no answer from ${ns.host}:${ns.port} in ${timeoutMs} ms`))), timeoutMs);
    lease.sock.on('message', onMessage);
    lease.sock.on('error', onError);
    lease.sock.send(query);
  });
}

export class DnsClient {
  private next = 0;
  private readonly sockets = new UdpSockets();
  private readonly tcp = new TcpChannels();
  queries = 0;

  constructor(private readonly o: ClientOptions) {
    if (o.servers.length === 0) throw new Error('no nameservers');
  }

  get timeoutMs(): number {
    return this.o.timeoutMs;
  }

  get tries(): number {
    return this.o.tries;
  }

  /**
   * `tcp`: ask over TCP straight away, for answers known to be large (listing pages). `tries`: instead of the
   * client's. A server where nothing listens is not asked again.
   */
  async query(labels: readonly Buffer[], qtype: number, display: string, tcp = false, tries = this.o.tries): Promise<Response> {
    let lastError: Error = new Error('no tries');
    const refused = new Set<Nameserver>();
    for (let attempt = 0; attempt < tries; attempt++) {
      const ns = this.o.servers[(this.next + attempt) % this.o.servers.length]!;
      if (refused.has(ns)) {
        if (refused.size === this.o.servers.length) break;
        continue;
      }
      const id = Math.floor(Math.random() * 65536);
      const q = buildQuery(id, labels, qtype, true);
      try {
        this.queries++;
        if (tcp) {
          const r = decodeResponse(await this.tcp.exchange(ns, buildQuery(id, labels, qtype, false), this.o.timeoutMs * 2));
          this.o.trace?.(`${display} via ${ns.host}:${ns.port} tcp: rcode ${r.rcode}, ${r.answers.count} answer(s)`);
          return r;
        }
        let r = decodeResponse(await udpExchange(this.sockets, ns, q, id, this.o.timeoutMs));
        if (r.tc) {
          this.o.trace?.(`${display} via ${ns.host}:${ns.port} udp: truncated, retrying over TCP`);
          this.queries++;
          r = decodeResponse(await this.tcp.exchange(ns, buildQuery(id, labels, qtype, false), this.o.timeoutMs * 2));
        }
        this.o.trace?.(`${display} via ${ns.host}:${ns.port}: rcode ${r.rcode}, ${r.answers.count} answer(s)`);
        return r;
      } catch (e) {
        lastError = e as Error;
        if (lastError instanceof DnsRefused) refused.add(ns);
        this.o.trace?.(`${display} via ${ns.host}:${ns.port}: ${lastError.message}`);
      }
    }
    this.next++;
    throw lastError;
  }
}
