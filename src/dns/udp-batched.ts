/**
 * The batched UDP path (see udp.ts) over the native addon: the queries of a wakeup arrive as records in one
 * Buffer (src/native/records.h), answers leave as records in one send. Each query is copied out of its batch
 * before it is answered, so a query that waits for Redis holds a few dozen bytes, not the whole batch.
 */
import cluster from 'node:cluster';
import type { Logger } from '../common/log.js';
import { LAYOUT, type NativeUdp, type NativeUdpClass } from '../native/addon.js';
import type { ClientAddress } from './client-address.js';
import { CACHE_TALLIES, SOJOURN_BOUNDS, notCacheable, type Answerer, type Cacheable, type UdpEndpoint, type UdpOptions } from './udp-endpoint.js';

const { header: HEADER, family: FAMILY, address: ADDRESS, port: PORT, refresh: REFRESH } = LAYOUT;
const CLIENT_END = FAMILY + LAYOUT.clientBytes;

/** Answers gathered into records for one sendmmsg. */
class Outbox {
  private buf = Buffer.allocUnsafe(256 * 1024);
  private used = 0;
  private count = 0;

  constructor(private readonly sock: () => NativeUdp) {}

  /** Queues `answer` for the sender of the query record `record` (its header, at least). */
  add(record: Buffer, answer: Buffer): void {
    // Cannot happen (MAX_UDP_PAYLOAD is at most 65,535), and a record's length field holds no more.
    if (answer.length > 0xffff) return;
    if (this.used + HEADER + answer.length > this.buf.length) this.flush();
    this.buf.writeUInt16LE(answer.length, this.used);
    record.copy(this.buf, this.used + 2, 2, HEADER);
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

/**
 * The sender of a (copied) query record, read from the record when asked: most queries pass no link that looks at
 * their client, so the address's view is made only for those that do.
 */
class RecordSender implements ClientAddress {
  constructor(private readonly record: Buffer) {}
  get family(): 4 | 6 {
    return this.record[FAMILY] === 4 ? 4 : 6;
  }
  get bytes(): Buffer {
    return this.record.subarray(ADDRESS, ADDRESS + (this.family === 4 ? 4 : 16));
  }
  get port(): number {
    return this.record.readUInt16LE(PORT);
  }
}

export function bindBatched(native: NativeUdpClass, host: string, port: number, answer: Answerer, log: Logger, o: UdpOptions): UdpEndpoint {
  // Answers that waited (for Redis) go out together once per turn of the event loop.
  let scheduled = false;
  const flushLater = () => {
    scheduled = false;
    later.flush();
  };
  let failure: string | null = null;
  const cacheCounts = new Float64Array(CACHE_TALLIES);
  // One object for every query: the answerer marks the answer it gives at once as cacheable, or leaves it.
  const cacheable = notCacheable();
  const cache = (msg: Buffer, answer: Buffer, r: Cacheable, client: Buffer) => sock.cache(msg, answer, r.untilMs, r.agesAtMs, r.refreshAtMs, r.tally, client);
  // Under --workers each worker binds the port itself and the kernel spreads datagrams over them.
  const sock: NativeUdp = new native(
    host,
    port,
    cluster.isWorker,
    (records, count) => {
      let at = 0;
      for (let i = 0; i < count; i++) {
        const len = records.readUInt16LE(at);
        const record = Buffer.allocUnsafe(HEADER + len);
        records.copy(record, 0, at, at + HEADER + len);
        at += HEADER + len;
        const refresh = (record[FAMILY]! & REFRESH) !== 0;
        // Cleared, so that the client's bytes are what cache() and the sender take.
        if (refresh) record[FAMILY] = record[FAMILY]! & ~REFRESH;
        const msg = record.subarray(HEADER);
        cacheable.untilMs = 0;
        cacheable.next = null;
        cacheable.answered = refresh;
        const a = answer(msg, new RecordSender(record), cacheable);
        if (a instanceof Promise) {
          void a.then((r) => {
            if (!r || refresh) return;
            later.add(record, r);
            if (!scheduled) {
              scheduled = true;
              setImmediate(flushLater);
            }
          });
        } else if (a) {
          if (!refresh) now.add(record, a);
          if (cacheable.untilMs !== 0) {
            const client = record.subarray(FAMILY, CLIENT_END);
            cache(msg, a, cacheable, client);
            // (Cast: the answerer may have set what was cleared before it ran.)
            const next = cacheable.next as Cacheable['next'];
            if (next) void next.then((n) => n && cache(msg, n.answer, n.cacheable, client));
          }
        }
      }
      now.flush();
    },
    SOJOURN_BOUNDS,
    cacheCounts,
    (message) => {
      failure = message;
      log.error(`${message}; UDP queries are no longer answered (TCP still is): restart rkvdns`);
    },
  );
  if (o.cachePerClient) sock.cacheByClient(true);
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
        sendFailed: st.sendFailed,
        queue: st.queueDropped,
        sojourn: { counts: st.sojourn, seconds: st.sojournSeconds },
        cached: st.cached,
        cacheRefused: st.cacheRefused,
        cacheEvicted: st.cacheEvicted,
      };
    },
    cacheCounts,
    failure: () => failure,
    close: () => sock.close(),
  };
}
