/** Redis outages, TCP timeouts and connection caps, hostile packets and a fuzz run against a real rkvdns. */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, buildQuery, decode, sendUdp, txt } from '../helpers/dns.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { rssKb } from '../helpers/process.js';
import { counter, introspect, startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';
import { until } from '../helpers/wait.js';

let redis: TestRedis;
let server: TestRkvdns;

beforeAll(async () => {
  redis = await startRedis();
  await redis.client.set('k', 'v');
  server = await startRkvdns(redis.url, { RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test', TCP_TIMEOUT: 3, MAX_TCP_CONNECTIONS: 8 });
});

afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

/**
 * Every counter that is the one outcome of a query (rkvdns/counters.ts): the packets received, UDP and TCP, add up to
 * these. Listed here, not read from the code, so that a new outcome the test does not know is a failure to look at.
 */
const OUTCOMES = [
  'rejected_short',
  'rejected_response',
  'rejected_formerr',
  'rejected_notimp',
  'badvers',
  'refused_acl',
  'refused_introspection',
  'rrl_dropped',
  'rrl_slipped',
  'dropped_pending',
  'dropped_debounce',
  'noerror',
  'nxdomain',
  'servfail',
  'formerr',
  'notimp',
  'refused',
  'error_parameter',
  'error_operand',
  'error_syntax',
  'error_redis',
  'error_toomany',
  'error_toolarge',
  'handler_failed',
];

/** A fresh operation each time (marshalling would answer a repeat from its flight), answered by Redis. */
let probes = 0;
const alive = async (port = server.port) => txt(await ask(port, `probe${probes++}*.klen.${ZONE}`, 'TXT'));

/** Opens a TCP connection and resolves with the seconds until the server closes it. */
function closedAfter(port: number, onOpen: (s: net.Socket) => void = () => undefined): Promise<number> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect(port, '127.0.0.1', () => onOpen(s));
    s.on('error', () => undefined);
    s.on('close', () => resolve((Date.now() - t0) / 1000));
  });
}

describe('Redis outage', () => {
  it('queries get SERVFAIL within 1 s while Redis is down, and answers resume by themselves when it returns', async () => {
    expect(await alive()).toEqual([['0']]);
    const restart = await redis.kill();
    const t0 = Date.now();
    const down = await ask(server.port, `k2.get.${ZONE}`, 'TXT', { timeoutMs: 3000 });
    expect(down.rcode).toBe('SERVFAIL');
    // Failed at once (nothing queued while Redis is away), not after a client library's retries (~74 s by default).
    expect(Date.now() - t0).toBeLessThan(2500);
    // Several more while down: still fast, nothing queued up behind them.
    const more = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(server.port, `x${i}.get.${ZONE}`, 'TXT', { timeoutMs: 3000 })));
    expect(new Set(more.map((d) => d.rcode))).toEqual(new Set(['SERVFAIL']));
    await restart();
    await redis.client.connect().catch(() => undefined);
    await until('the test client to reconnect', () => redis.client.status === 'ready', 5000);
    await redis.client.set('k', 'v');
    await redis.client.set('k2', 'back');
    // rkvdns reconnects by itself; no restart, no signal.
    await until('rkvdns to answer from Redis again', async () => txt(await ask(server.port, `k2.get.${ZONE}`, 'TXT'))[0]?.[0] === 'back', 10_000);
  }, 20_000);
});

describe('TCP', () => {
  it('an idle connection is closed after TCP_TIMEOUT (3 s and 8 s)', async () => {
    // Not before the timeout; after it by no more than a loaded machine's lag.
    const three = await closedAfter(server.port);
    expect(three).toBeGreaterThan(2.8);
    expect(three).toBeLessThan(6);
    const slow = await startRkvdns(redis.url, { TCP_TIMEOUT: 8 });
    try {
      const eight = await closedAfter(slow.port);
      expect(eight).toBeGreaterThan(7.8);
      expect(eight).toBeLessThan(11);
    } finally {
      await slow.stop();
    }
  }, 20_000);

  it('a slow-loris sender (one byte a second) is cut off by the read deadline', async () => {
    const q = buildQuery(`k.get.${ZONE}`, 'TXT');
    const frame = Buffer.concat([Buffer.from([0, q.length]), q]);
    let timer: NodeJS.Timeout | undefined;
    const secs = await closedAfter(server.port, (s) => {
      let i = 0;
      timer = setInterval(() => {
        if (i < frame.length && !s.destroyed) s.write(frame.subarray(i, ++i));
      }, 1000);
    });
    clearInterval(timer);
    // The whole frame would take 30 s at that pace; the deadline (TCP_TIMEOUT, 3 s) cuts it off.
    expect(secs).toBeLessThan(8);
  }, 10_000);

  it('connections beyond MAX_TCP_CONNECTIONS are refused; the server keeps answering', async () => {
    // The counters are read over TCP: their connection counts as open until the server has seen it close (asked over
    // UDP, so as not to be refused itself). Left open, it would take one of the 8 places and make 5 refusals of 4.
    const refusedBefore = await counter(server.port, 'tcp_refused');
    const openConnections = async () =>
      txt(await ask(server.port, `queues.${ZONE}`, 'TXT', { edns: 1232 })).find((r) => r[0]!.startsWith('tcp_connections:'))?.[0];
    await until('no connection left open before', async () => (await openConnections()) === 'tcp_connections:0', 5000);
    const open: net.Socket[] = [];
    const closed: boolean[] = [];
    for (let i = 0; i < 12; i++) {
      const s = net.connect(server.port, '127.0.0.1');
      s.on('error', () => undefined);
      const idx = i;
      closed[idx] = false;
      s.on('close', () => (closed[idx] = true));
      open.push(s);
    }
    // 8 are held open; the server closes the other 4 as it accepts them, and counts each.
    await until('4 connections refused', () => closed.filter(Boolean).length >= 4, 5000);
    expect(await alive()).toEqual([['0']]);
    for (const s of open) s.destroy();
    // Once the server has seen them go, TCP is answered again; the server counted exactly the 4 it refused (any
    // other close is the idle timeout's, TCP_TIMEOUT 3 s, on a slow machine).
    await until('the held connections to close', async () => (await openConnections()) === 'tcp_connections:0', 5000);
    expect((await counter(server.port, 'tcp_refused')) - refusedBefore).toBe(4);
    expect(txt(await ask(server.port, `k.get.${ZONE}`, 'TXT', { tcp: true }))).toEqual([['v']]);
  });

  it('a length prefix too small is garbage and closes the connection; a large one waits for the deadline', async () => {
    // Closed at once, not after the deadline.
    expect(await closedAfter(server.port, (s) => s.write(Buffer.from([0, 3, 1, 2, 3])))).toBeLessThan(2);
    const secs = await closedAfter(server.port, (s) => s.write(Buffer.from([0xff, 0xff, 1, 2, 3])));
    expect(secs).toBeGreaterThan(2.5);
    expect(secs).toBeLessThan(6);
  }, 10_000);
});

describe('hostile input', () => {
  const header = (qd: number, flags = 0x0100) => {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(0x4242, 0);
    h.writeUInt16BE(flags, 2);
    h.writeUInt16BE(qd, 4);
    return h;
  };
  const q = buildQuery(`k.get.${ZONE}`, 'TXT', { id: 0x4242 });

  it.each([
    ['an opcode other than QUERY → NOTIMP', Buffer.concat([header(1, 0x0100 | (4 << 11)), q.subarray(12)]), 'NOTIMP'],
    ['QDCOUNT 2 → FORMERR', Buffer.concat([header(2), q.subarray(12), q.subarray(12)]), 'FORMERR'],
    ['QDCOUNT 0 → FORMERR', header(0), 'FORMERR'],
    ['a compression-pointer loop → FORMERR', Buffer.concat([header(1), Buffer.from([0xc0, 12, 0, 16, 0, 1])]), 'FORMERR'],
    ['a label longer than 63 → FORMERR', Buffer.concat([header(1), Buffer.from([70]), Buffer.alloc(70, 97), Buffer.from([0, 0, 16, 0, 1])]), 'FORMERR'],
    [
      'a name longer than 255 → FORMERR',
      Buffer.concat([header(1), ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 97)])), Buffer.from([0, 0, 16, 0, 1])]),
      'FORMERR',
    ],
    ['a truncated question → FORMERR', q.subarray(0, q.length - 3), 'FORMERR'],
  ])('%s', async (_name, packet, rcode) => {
    const raw = await sendUdp(server.port, packet);
    expect(raw).not.toBeNull();
    expect(decode(raw!).rcode).toBe(rcode);
    expect(raw!.readUInt16BE(0)).toBe(0x4242);
  });

  it.each([
    [
      'a response (QR=1)',
      (() => {
        const b = Buffer.from(q);
        b[2]! |= 0x80;
        return b;
      })(),
    ],
    ['a packet shorter than a header', Buffer.from([1, 2, 3])],
  ])('%s is ignored', async (_name, packet) => {
    expect(await sendUdp(server.port, packet, 500)).toBeNull();
    expect(await alive()).toEqual([['0']]);
  });

  it('a fuzz run of 200,000 random and mutated packets neither crashes nor bloats the server; every packet gets one counted outcome', async () => {
    const stats = async () => new Map((await introspect(server.port, 'stats')).map((l) => l.split(':') as [string, string]));
    const n = (m: Map<string, string>, name: string) => Number(m.get(name) ?? 0);
    const outcomes = (m: Map<string, string>) => OUTCOMES.reduce((a, name) => a + n(m, name), 0);
    const start = await stats();
    const before = rssKb(server.proc.pid);
    // xorshift32: a fixed seed makes any failure reproducible.
    let seed = 0x2545f491;
    const rand = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return n > 0 ? (seed >>> 0) % n : 0;
    };
    const valid = [q, buildQuery(`a\\;*.keys.${ZONE}`, 'TXT', { edns: 1232 }), buildQuery(`x.k.hget.${ZONE}`, 'A'), buildQuery(ZONE, 'SOA')];
    const sock = dgram.createSocket('udp4');
    sock.on('message', () => undefined);
    /** Waits until the server has counted every datagram sent: bursts small enough for a socket buffer lose none. */
    const received = async (sent: number) => {
      for (const until = Date.now() + 10_000; ; await new Promise((r) => setTimeout(r, 2))) {
        const seen = n(await stats(), 'udp_queries') - n(start, 'udp_queries');
        if (seen === sent) return;
        if (Date.now() > until) throw new Error(`the server counted ${seen} of ${sent} datagrams`);
      }
    };
    for (let i = 0; i < 200_000; i++) {
      let p: Buffer;
      if (i % 3 === 0) {
        p = Buffer.alloc(rand(80));
        for (let j = 0; j < p.length; j++) p[j] = rand(256);
      } else {
        p = Buffer.from(valid[i % valid.length]!);
        for (let m = 1 + rand(4); m > 0; m--) p[rand(p.length)] = rand(256);
        if (rand(4) === 0) p = p.subarray(0, rand(p.length));
      }
      sock.send(p, server.port, '127.0.0.1');
      if (i % 100 === 99) await received(i + 1);
    }
    // The same over TCP, fewer: framing plus garbage.
    for (let c = 0; c < 20; c++) {
      await new Promise<void>((resolve) => {
        const s = net.connect(server.port, '127.0.0.1', () => {
          for (let i = 0; i < 100; i++) {
            const p = Buffer.from(valid[i % valid.length]!);
            p[rand(p.length)] = rand(256);
            s.write(Buffer.concat([Buffer.from([p.length >> 8, p.length & 255]), p]));
          }
          s.end();
        });
        // Answers are read and discarded: an unread socket would never see the server's FIN.
        s.resume();
        s.setTimeout(5000, () => s.destroy());
        s.on('error', () => resolve());
        s.on('close', () => resolve());
      });
    }
    sock.close();
    const after = rssKb(server.proc.pid);
    console.log(`fuzz: 200000 UDP + 2000 TCP packets; RSS ${before} kB before, ${after} kB after`);
    expect(await alive()).toEqual([['0']]);
    expect(server.proc.child.exitCode).toBeNull();
    expect(after - before).toBeLessThan(60_000);
    // Every packet, UDP and TCP, has exactly one outcome: the stats queries in between are packets too, and each is
    // counted as a query on arrival but as an answer only once answered (the last one's answer is still to come).
    let end = await stats();
    for (const until = Date.now() + 5000; n(end, 'pending') > 0 && Date.now() < until; end = await stats()) await new Promise((r) => setTimeout(r, 20));
    const queries = n(end, 'udp_queries') + n(end, 'tcp_queries') - n(start, 'udp_queries') - n(start, 'tcp_queries');
    expect(n(end, 'udp_queries') - n(start, 'udp_queries')).toBe(200_000 + 1); // and the alive() probe
    expect(outcomes(end) - outcomes(start)).toBe(queries);
  }, 90_000);
});
