/**
 * The batched UDP path at its edges: a message the kernel refuses costs only itself; a client flooding variants of
 * one name cannot crowd other names out of the answer cache; close() returns under a flood; a query waiting for
 * Redis holds its own bytes, not its batch.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { bindUdp, type UdpEndpoint } from '../../src/dns/udp.js';
import { LAYOUT, loadUdpAddon } from '../../src/native/addon.js';
import { buildQuery, sendUdp } from '../helpers/dns.js';
import { rssKb } from '../helpers/process.js';
import { startRedis } from '../helpers/redis.js';
import { counter, startRkvdns, ZONE } from '../helpers/rkvdns.js';

const log = createLogger('silent', 'test');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let endpoint: UdpEndpoint | undefined;

afterEach(() => {
  endpoint?.close();
  endpoint = undefined;
});

async function waitFor(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const until = Date.now() + timeoutMs; !ok(); await sleep(20)) if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
}

/** An answer record (records.h) for `port` at an IPv4 address. */
function record(address: string, port: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(LAYOUT.header + payload.length);
  b.writeUInt16LE(payload.length, 0);
  b.writeUInt16LE(port, LAYOUT.port);
  b[LAYOUT.family] = 4;
  address.split('.').forEach((x, i) => (b[LAYOUT.address + i] = Number(x)));
  payload.copy(b, LAYOUT.header);
  return b;
}

describe('sending', () => {
  it('a message the kernel refuses is skipped and counted by cause; every other answer of its batch arrives', async () => {
    const Native = loadUdpAddon()!;
    const sock = new Native(
      '127.0.0.1',
      0,
      false,
      () => undefined,
      [],
      new Float64Array(LAYOUT.tallies),
      () => undefined,
    );
    const rx = dgram.createSocket('udp4');
    try {
      await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
      const got: string[] = [];
      rx.on('message', (m) => got.push(m.toString()));
      const rxPort = rx.address().port;
      // 20 answers; the 6th to a broadcast address (EACCES), the 12th to port 0 (EINVAL).
      const records = Array.from({ length: 20 }, (_, i) =>
        i === 5
          ? record('255.255.255.255', 9, Buffer.from('b'))
          : i === 11
            ? record('127.0.0.1', 0, Buffer.from('z'))
            : record('127.0.0.1', rxPort, Buffer.from(`a${i}`)),
      );
      expect(sock.send(Buffer.concat(records), records.length)).toBe(18);
      const expected = Array.from({ length: 20 }, (_, i) => `a${i}`).filter((_, i) => i !== 5 && i !== 11);
      await waitFor('18 answers', () => got.length === 18);
      expect(got).toEqual(expected);
      const st = sock.stats();
      expect(st.sendFailed).toMatchObject({ access: 1, invalid: 1, msgsize: 0, unreachable: 0 });
      expect(st.sendDropped).toBe(0);
    } finally {
      sock.close();
      rx.close();
    }
  });
});

/** An answer to `query` of about 3.8 KB: one TXT record of 15 strings of 250 bytes, TTL 60. */
function bigAnswer(query: Buffer): Buffer {
  const qEnd = query.length - 11; // the query carries OPT (11 bytes) after its question
  const header = Buffer.from(query.subarray(0, 12));
  header.writeUInt16BE(0x8400, 2);
  header.writeUInt16BE(1, 6);
  header.writeUInt16BE(0, 10);
  const rdata = Buffer.concat(Array.from({ length: 15 }, () => Buffer.concat([Buffer.from([250]), Buffer.alloc(250, 0x61)])));
  const rr = Buffer.alloc(12);
  rr.writeUInt16BE(0xc00c, 0);
  rr.writeUInt16BE(16, 2);
  rr.writeUInt16BE(1, 4);
  rr.writeUInt32BE(60, 6);
  rr.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([header, query.subarray(12, qEnd), rr, rdata]);
}

describe('the answer cache is fair to every name', () => {
  it('a flood of EDNS-size variants of one name keeps 8 of them; another name asked after it is still answered by the addon', async () => {
    const calls: string[] = [];
    endpoint = await bindUdp(
      'batched',
      '127.0.0.1',
      0,
      (msg, _client, cacheable) => {
        calls.push(msg.subarray(13, 13 + msg[12]!).toString());
        const until = Date.now() + 30_000;
        if (cacheable) Object.assign(cacheable, { untilMs: until, agesAtMs: until, tally: 1 });
        return bigAnswer(msg);
      },
      log,
    );
    const port = endpoint.port;
    // 9,000 variants (EDNS sizes 1,000 to 9,999) at ~3.9 KB each: more than the cache's 32 MiB could hold.
    const client = dgram.createSocket('udp4');
    let answered = 0;
    let onAnswer = () => undefined as void;
    client.on('message', () => {
      answered++;
      onAnswer();
    });
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
    try {
      // 20 at a time: what a default receive buffer holds of answers this size.
      for (let i = 0; i < 9000; i += 20) {
        const all = new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`${answered} of ${i + 20} variants answered`)), 5000);
          onAnswer = () => answered >= i + 20 && (clearTimeout(t), resolve());
        });
        for (let k = i; k < i + 20; k++) client.send(buildQuery('flood.example', 'TXT', { id: k & 0xffff, edns: 1000 + k }), port, '127.0.0.1');
        await all;
      }
    } finally {
      client.close();
    }
    expect(endpoint.counts().cached).toBeLessThanOrEqual(8);
    const floodCalls = calls.length;
    // The other name: one answer from the answerer, then its repeats from the addon alone.
    const other = (id: number) => buildQuery('other.example', 'TXT', { id, edns: 1232 });
    expect((await sendUdp(port, other(1)))?.readUInt16BE(0)).toBe(1);
    for (let id = 2; id < 6; id++) expect((await sendUdp(port, other(id)))?.readUInt16BE(0)).toBe(id);
    expect(calls.slice(floodCalls)).toEqual(['other']);
    expect(endpoint.cacheCounts![1]).toBeGreaterThanOrEqual(4);
    const counts = endpoint.counts();
    expect(counts.cacheEvicted).toBe(floodCalls - 8);
    expect(counts.cacheRefused).toBe(0);
  });
});

/** From another process: the same query from 8 sockets, as fast as it can send, for `seconds`. */
function floodFromChild(port: number, query: Buffer, seconds: number): { done: Promise<void>; started: Promise<void> } {
  const script = `
    const dgram = require('node:dgram');
    const q = Buffer.from('${query.toString('hex')}', 'hex');
    const until = Date.now() + ${seconds * 1000};
    const socks = Array.from({ length: 8 }, () => dgram.createSocket('udp4'));
    console.log('flooding');
    const burst = () => {
      for (const s of socks) for (let k = 0; k < 64; k++) s.send(q, ${port}, '127.0.0.1');
      if (Date.now() < until) setImmediate(burst);
      else setTimeout(() => process.exit(0), 100);
    };
    burst();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const started = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  return { started, done: new Promise((resolve) => child.on('close', () => resolve())) };
}

describe('shutdown', () => {
  it('close() returns within 1 s while a flood of repeats keeps the socket thread busy', async () => {
    endpoint = await bindUdp(
      'batched',
      '127.0.0.1',
      0,
      (msg, _client, cacheable) => {
        const until = Date.now() + 30_000;
        if (cacheable) Object.assign(cacheable, { untilMs: until, agesAtMs: until, tally: 2 });
        return bigAnswer(msg);
      },
      log,
    );
    const q = buildQuery('busy.example', 'TXT', { id: 1, edns: 1232 });
    await sendUdp(endpoint.port, q);
    const flood = floodFromChild(endpoint.port, q, 6);
    await flood.started;
    await waitFor('the flood answered by the addon', () => endpoint!.cacheCounts![2]! > 10_000);
    const started = performance.now();
    endpoint.close();
    const tookMs = performance.now() - started;
    endpoint = undefined;
    await flood.done;
    expect(tookMs).toBeLessThan(1000);
  });
});

describe('memory', () => {
  const ROUNDS = 2000;
  it('queries waiting on a stopped Redis hold their own bytes, not their batches: RSS stays bounded', async () => {
    const redis = await startRedis();
    const server = await startRkvdns(redis.url, { UDP_IO: 'batched', REDIS_TIMEOUT_MS: 30_000, MAX_PENDING: 5000 });
    const client = dgram.createSocket('udp4');
    try {
      await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
      const before = rssKb(server.proc.pid);
      process.kill(redis.proc.pid, 'SIGSTOP');
      // Each round: one small query that waits for Redis, then 60 answered at once (outside the zone), each padded
      // to 3 KB so that every batch the waiting query arrives in is large.
      const padded = (name: string, id: number) => {
        const q = buildQuery(name, 'TXT', { id, edns: 1232 });
        // An EDNS padding option (12) fills the OPT record's data.
        const pad = Buffer.alloc(4 + 3000);
        pad.writeUInt16BE(12, 0);
        pad.writeUInt16BE(3000, 2);
        q.writeUInt16BE(pad.length, q.length - 2);
        return Buffer.concat([q, pad]);
      };
      const junk = Array.from({ length: 60 }, (_, k) => padded(`x${k}.elsewhere.example`, k));
      for (let round = 0; round < ROUNDS; round++) {
        client.send(buildQuery(`wait${round}.get.${ZONE}`, 'TXT', { id: round }), server.port, '127.0.0.1');
        for (const j of junk) client.send(j, server.port, '127.0.0.1');
        if (round % 3 === 2) await sleep(3);
      }
      // Wait until the datagrams have been read: the waiting queries stop growing.
      let pending = -1;
      for (let last = -2; pending !== last; await sleep(300)) [last, pending] = [pending, await counter(server.port, 'pending')];
      expect(pending).toBeGreaterThan(ROUNDS / 2);
      const grownMb = (rssKb(server.proc.pid) - before) / 1024;
      const sentMb = (ROUNDS * 60 * 3) / 1024;
      console.log(`memory: ${pending} queries waiting; RSS grew ${grownMb.toFixed(1)} MB over ${sentMb.toFixed(0)} MB sent`);
      // Held whole, the batches the waiting queries arrived in would be most of what was sent.
      expect(grownMb).toBeLessThan(sentMb / 3);
    } finally {
      process.kill(redis.proc.pid, 'SIGCONT');
      client.close();
      await server.stop();
      await redis.stop();
    }
  });
});
