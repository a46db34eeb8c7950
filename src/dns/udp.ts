/**
 * The UDP side of the DNS listener, two ways:
 *   dgram    node:dgram, one 'message' event, Buffer and rinfo object per datagram, one send per answer;
 *   batched  the native addon (src/native/udp_batch.cc, Linux): a thread of its own reads the socket with
 *            recvmmsg and hands the queries waiting to the main thread in one Buffer per wakeup of the loop,
 *            and the answers of a batch (or of one turn of the event loop, for answers that waited for Redis)
 *            leave in one sendmmsg. An answer the answerer marks reusable (Reuse) is remembered by the addon,
 *            whose thread answers that query's repeats itself, JavaScript busy or not, until the answer would
 *            change.
 * Both call `answer(msg, client)` per query and send what it gives back to where the query came from.
 */
import cluster from 'node:cluster';
import dgram from 'node:dgram';
import dns from 'node:dns';
import { createRequire } from 'node:module';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../common/log.js';

export const UDP_IO = ['auto', 'dgram', 'batched'] as const;
export type UdpIo = (typeof UDP_IO)[number];

/** Tallies the addon counts repeats under (AnswerCache::kTallies in answer_cache.h). */
export const REPEAT_TALLIES = 64;

/**
 * What an answerer may say of an answer it gives at once, on the batched path: the same query bytes, ID apart,
 * get this answer until `untilMs`, with the TTLs of its answer and authority records one lower (not below 0) at
 * `agesAtMs` and at each second after, as agedAnswer (message.ts) ages them; both are Date.now() times. Each
 * repeat so answered counts under `tally` (0 to REPEAT_TALLIES - 1) in the endpoint's `repeats`. The caller sets
 * untilMs to 0 and `next` to null before each query; left at 0, the answer is not reused.
 *
 * With untilMs:
 * - `refreshAtMs` (0: none): the first repeat from then on is a refresh. It gets this answer too, but is also
 *   given to the answerer with `answered` set (and not counted under the tally): the answerer runs it so that
 *   its flight moves on (starts a prefetch) and counts it itself; what it returns is not sent.
 * - `next`: the answer that may replace this one for the same query bytes before untilMs (a prefetched read),
 *   and how it is reused in turn; null if none does. Once it is in it is kept in this one's place; if it cannot
 *   be (its untilMs 0, or the addon refuses it), this one is dropped all the same.
 */
export interface Reuse {
  untilMs: number;
  agesAtMs: number;
  refreshAtMs: number;
  tally: number;
  /** Set by the caller: the query is a refresh, answered by the addon already. */
  answered: boolean;
  next: Promise<{ answer: Buffer; reuse: Reuse } | null> | null;
}

/** A Reuse that says nothing yet: the answer is not reused. */
export function unmarked(): Reuse {
  return { untilMs: 0, agesAtMs: 0, refreshAtMs: 0, tally: 0, answered: false, next: null };
}

export type Answerer = (msg: Buffer, client: string, reuse?: Reuse) => Buffer | null | Promise<Buffer | null>;

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

export interface UdpCounts {
  /** Datagrams the batched path dropped: queries over its 4,096-byte buffer, answers the kernel refused. */
  oversize: number;
  send: number;
  /** Queries the batched path dropped because kMaxWaiting (4,096) already waited for the main thread. */
  queue: number;
  /** The sojourn histogram (batched only: node:dgram gives no receive time); null on node:dgram. */
  sojourn: Sojourn | null;
  /** Answers held for repeats (batched only). */
  remembered: number;
}

export interface UdpEndpoint {
  port: number;
  io: 'dgram' | 'batched';
  /** What the socket counted, read in one call to the addon. */
  counts(): UdpCounts;
  /** Repeats the addon answered itself, per tally (see Reuse), kept current by the addon; null on node:dgram. */
  repeats: Float64Array | null;
  close(): void;
}

/** The addon's socket (see udp_batch.cc). */
interface NativeUdp {
  port(): number;
  send(records: Buffer, count: number): number;
  /** Keeps `answer` for repeats of `query` in place of any answer kept for it; one it cannot keep still drops that. */
  remember(query: Buffer, answer: Buffer, untilMs: number, agesAtMs: number, refreshAtMs: number, tally: number, client: Buffer): boolean;
  keyByClient(on: boolean): void;
  stats(): {
    received: number;
    sent: number;
    oversize: number;
    sendDropped: number;
    queueDropped: number;
    sojourn: number[];
    sojournSeconds: number;
    remembered: number;
  };
  close(): void;
}
type NativeUdpClass = new (
  host: string,
  port: number,
  reusePort: boolean,
  onBatch: (records: Buffer, count: number) => void,
  sojournBounds: readonly number[],
  repeats: Float64Array,
) => NativeUdp;

let addon: { UdpBatch: NativeUdpClass } | null | undefined;
let addonError = '';

/** The addon, or null when it was not built (no compiler at install, not Linux): the reason is in `why`. */
function batchedUdp(): { UdpBatch: NativeUdpClass } | null {
  if (addon !== undefined) return addon;
  try {
    const require = createRequire(import.meta.url);
    const load = require('node-gyp-build') as (dir: string) => { UdpBatch: NativeUdpClass };
    addon = load(fileURLToPath(new URL('../..', import.meta.url)));
  } catch (e) {
    addon = null;
    addonError = (e as Error).message.split('\n')[0]!;
  }
  return addon;
}

/** Record header: u16 length, u16 port, u8 family, 16 address bytes, u64 arrival ns (udp_batch.cc). */
const HEADER = 29;
/** In a query record's family byte: a refresh, answered by the addon already (kRefresh in udp_batch.cc). */
const REFRESH = 0x80;
/** Where a record's family and address bytes are: the client, as remember() takes it. */
const CLIENT_AT = 4;
const CLIENT_END = 21;

function hex4(b: Buffer, at: number): string {
  return ((b[at]! << 8) | b[at + 1]!).toString(16);
}

/** The text of a 16-byte IPv6 address as node writes it (RFC 5952: the longest run of zero groups as ::). */
export function ipv6Text(b: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(hex4(b, at + 2 * i));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** `address#port` of the record at `at`, the form the handlers take. */
function clientOf(b: Buffer, at: number): string {
  const port = b.readUInt16LE(at + 2);
  return b[at + 4] === 4 ? `${b[at + 5]}.${b[at + 6]}.${b[at + 7]}.${b[at + 8]}#${port}` : `${ipv6Text(b, at + 5)}#${port}`;
}

/** Answers gathered into records for one sendmmsg. */
class Outbox {
  private buf = Buffer.allocUnsafe(256 * 1024);
  private used = 0;
  private count = 0;

  constructor(private readonly sock: () => NativeUdp) {}

  /** Queues `answer` for the sender of the query record at `at` in `from`. */
  add(from: Buffer, at: number, answer: Buffer): void {
    // Cannot happen (MAX_UDP_PAYLOAD is at most 65,535), and a record's length field holds no more.
    if (answer.length > 0xffff) return;
    if (this.used + HEADER + answer.length > this.buf.length) this.flush();
    this.buf.writeUInt16LE(answer.length, this.used);
    from.copy(this.buf, this.used + 2, at + 2, at + HEADER);
    answer.copy(this.buf, this.used + HEADER);
    this.used += HEADER + answer.length;
    this.count++;
  }

  flush(): void {
    if (this.count === 0) return;
    this.sock().send(this.buf.subarray(0, this.used), this.count);
    this.used = 0;
    this.count = 0;
  }
}

function bindBatched(native: NativeUdpClass, host: string, port: number, answer: Answerer, o: UdpOptions): UdpEndpoint {
  // Answers that waited (for Redis) go out together once per turn of the event loop.
  let scheduled = false;
  const flushLater = () => {
    scheduled = false;
    later.flush();
  };
  const repeats = new Float64Array(REPEAT_TALLIES);
  // One object for every query: the answerer marks the answer it gives at once as reusable, or leaves it.
  const reuse = unmarked();
  const remember = (msg: Buffer, answer: Buffer, r: Reuse, client: Buffer) => sock.remember(msg, answer, r.untilMs, r.agesAtMs, r.refreshAtMs, r.tally, client);
  // Under --workers each worker binds the port itself and the kernel spreads datagrams over them.
  const sock: NativeUdp = new native(
    host,
    port,
    cluster.isWorker,
    (records, count) => {
      let at = 0;
      for (let i = 0; i < count; i++) {
        const len = records.readUInt16LE(at);
        const msg = records.subarray(at + HEADER, at + HEADER + len);
        const refresh = (records[at + CLIENT_AT]! & REFRESH) !== 0;
        // Cleared, so that the client's bytes are what remember() and clientOf() take.
        if (refresh) records[at + CLIENT_AT] = records[at + CLIENT_AT]! & ~REFRESH;
        reuse.untilMs = 0;
        reuse.next = null;
        reuse.answered = refresh;
        const a = answer(msg, clientOf(records, at), reuse);
        if (a instanceof Promise) {
          const from = at;
          void a.then((r) => {
            if (!r || refresh) return;
            later.add(records, from, r);
            if (!scheduled) {
              scheduled = true;
              setImmediate(flushLater);
            }
          });
        } else if (a) {
          if (!refresh) now.add(records, at, a);
          if (reuse.untilMs !== 0) {
            const client = records.subarray(at + CLIENT_AT, at + CLIENT_END);
            remember(msg, a, reuse, client);
            // (Cast: the answerer may have set what was cleared before it ran.) Copies, so that a slow Redis read
            // does not hold the whole batch.
            const next = reuse.next as Reuse['next'];
            if (next) {
              const [query, from] = [Buffer.from(msg), Buffer.from(client)];
              void next.then((n) => n && remember(query, n.answer, n.reuse, from));
            }
          }
        }
        at += HEADER + len;
      }
      now.flush();
    },
    SOJOURN_BOUNDS,
    repeats,
  );
  if (o.reusePerClient) sock.keyByClient(true);
  const now = new Outbox(() => sock);
  const later = new Outbox(() => sock);
  return {
    port: sock.port(),
    io: 'batched',
    counts: () => {
      const st = sock.stats();
      return {
        oversize: st.oversize,
        send: st.sendDropped,
        queue: st.queueDropped,
        sojourn: { counts: st.sojourn, seconds: st.sojournSeconds },
        remembered: st.remembered,
      };
    },
    repeats,
    close: () => sock.close(),
  };
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

function bindDgram(host: string, port: number, answer: Answerer, log: Logger): Promise<UdpEndpoint> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', lookup: literalAddress as unknown as typeof dns.lookup });
    sock.once('error', reject);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      sock.on('error', (e) => log.error(`udp socket: ${e.message}`));
      sock.on('message', (msg, rinfo) => {
        const a = answer(msg, `${rinfo.address}#${rinfo.port}`);
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
        counts: () => ({ oversize: 0, send: 0, queue: 0, sojourn: null, remembered: 0 }),
        repeats: null,
        close: () => sock.close(),
      });
    });
  });
}

export interface UdpOptions {
  /**
   * Reused answers (Reuse) go only to the client they were given to: for when the client decides whether it is
   * answered at all (an address list), so that a client the answerer would refuse never meets another's answer.
   */
  reusePerClient?: boolean;
}

/**
 * Binds UDP the way `io` asks. auto: batched when the addon is there and can serve this listener (a literal
 * address; a fixed port under --workers, which each worker binds with SO_REUSEPORT), else dgram.
 */
export async function bindUdp(io: UdpIo, host: string, port: number, answer: Answerer, log: Logger, o: UdpOptions = {}): Promise<UdpEndpoint> {
  if (io === 'dgram') return bindDgram(host, port, answer, log);
  const native = batchedUdp();
  const why = !native
    ? `the batched UDP addon is not available (${addonError}); build it with npm run build:native (Linux, g++ and make)`
    : net.isIP(host) === 0
      ? `the batched UDP path needs a literal address, not '${host}'`
      : cluster.isWorker && port === 0
        ? 'the batched UDP path needs a fixed port under --workers'
        : null;
  if (why === null) return bindBatched(native!.UdpBatch, host, port, answer, o);
  if (io === 'batched') throw new Error(`--io batched: ${why}`);
  return bindDgram(host, port, answer, log);
}
