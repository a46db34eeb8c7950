/**
 * The UDP side of the DNS listener, two ways:
 *   dgram    node:dgram, one 'message' event, Buffer and rinfo object per datagram, one send per answer;
 *   batched  the native addon (src/native/, Linux): a thread of its own reads the socket with recvmmsg and hands
 *            the queries waiting to the main thread in one Buffer per wakeup of the loop, and the answers of a
 *            batch (or of one turn of the event loop, for answers that waited for Redis) leave in one sendmmsg.
 *            An answer the answerer marks cacheable (Cacheable) is cached by the addon, whose thread answers that
 *            query's repeats itself, JavaScript busy or not, until the answer would change (udp-batched.ts).
 * Both call `answer(msg, client)` per query and send what it gives back to where the query came from. On `::`
 * both serve IPv4 clients too, and both give such a client as IPv4 (client-address.ts).
 */
import cluster from 'node:cluster';
import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import type { Logger } from '../common/log.js';
import { loadUdpAddon, whyNoAddon } from '../native/addon.js';
import { bindBatched } from './udp-batched.js';
import { clientOf } from './client-address.js';
import { NO_SEND_FAILURES, type Answerer, type UdpEndpoint, type UdpOptions } from './udp-endpoint.js';

export * from './udp-endpoint.js';

export const UDP_IO = ['auto', 'dgram', 'batched'] as const;
export type UdpIo = (typeof UDP_IO)[number];

/**
 * Answers go back to the address a query came from, always a literal IP: passing it through at once
 * spares every answer the default lookup's deferred callback before its send (about 8% of the CPU per
 * query, measured). Names (an INTERFACE given as a host name, at bind) still go to dns.lookup.
 */
function literalAddress(address: string, family: number, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  if (net.isIP(address) !== 0) callback(null, address, family);
  else dns.lookup(address, family, callback);
}

function bindDgram(host: string, port: number, answer: Answerer, log: Logger): Promise<UdpEndpoint> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', lookup: literalAddress as unknown as typeof dns.lookup });
    sock.once('error', reject);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      sock.on('error', (e) => log.error(`udp socket: ${e.message}`));
      sock.on('message', (msg, rinfo) => {
        const a = answer(msg, clientOf(rinfo.address, rinfo.port));
        if (!(a instanceof Promise)) {
          if (a) sock.send(a, rinfo.port, rinfo.address);
          return;
        }
        void a.then((r) => {
          if (r) sock.send(r, rinfo.port, rinfo.address);
        });
      });
      // node:dgram takes datagrams of any size, and reports a failed send as an 'error' (logged above).
      resolve({
        port: sock.address().port,
        io: 'dgram',
        counts: () => ({ oversize: 0, send: 0, sendFailed: NO_SEND_FAILURES, queue: 0, sojourn: null, cached: 0, cacheRefused: 0, cacheEvicted: 0 }),
        cacheCounts: null,
        failure: () => null,
        close: () => sock.close(),
      });
    });
  });
}

/**
 * Binds UDP the way `io` asks. auto: batched when the addon is there and can serve this listener (a literal
 * address; a fixed port under --workers, which each worker binds with SO_REUSEPORT), else dgram.
 */
export async function bindUdp(io: UdpIo, host: string, port: number, answer: Answerer, log: Logger, o: UdpOptions = {}): Promise<UdpEndpoint> {
  if (io === 'dgram') return bindDgram(host, port, answer, log);
  const native = loadUdpAddon();
  const why = !native
    ? whyNoAddon()
    : net.isIP(host) === 0
      ? `the batched UDP path needs a literal address, not '${host}'`
      : cluster.isWorker && port === 0
        ? 'the batched UDP path needs a fixed port under --workers'
        : null;
  if (why === null) return bindBatched(native!, host, port, answer, log, o);
  if (io === 'batched') throw new Error(`--io batched: ${why}`);
  return bindDgram(host, port, answer, log);
}
