/**
 * The batched UDP socket's own thread: it answers a repeat while the main thread (JavaScript) is busy, and queues at
 * most 4,096 queries for it, counting those dropped beyond. The main thread is held with Atomics.wait; the queries
 * come from another process.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { Cacheable, UdpEndpoint } from '../../src/dns/udp.js';
import { sendUdp } from '../helpers/dns.js';
import { query, serveAnswers } from '../helpers/udp-answerer.js';
import { until } from '../helpers/wait.js';

let endpoint: UdpEndpoint | undefined;

afterEach(() => {
  endpoint?.close();
  endpoint = undefined;
});

async function serve(ttl: number, mark: (cacheable: Cacheable) => void) {
  const served = await serveAnswers(ttl, mark);
  endpoint = served.endpoint;
  return served;
}

/**
 * From another process, at `sendAt` (a Date.now() time) or as soon as it runs if later: sends each packet to
 * `port` and reports, per packet, when its answer came (Date.now(); null if none within 5 s), and when it sent.
 */
function sendFromChild(port: number, packets: Buffer[], sendAt: number): Promise<{ sentAt: number; answeredAt: (number | null)[] }> {
  const script = `
    const sock = require('node:dgram').createSocket('udp4');
    const packets = process.argv.slice(1).map((h) => Buffer.from(h, 'hex'));
    const answeredAt = packets.map(() => null);
    let sentAt = 0;
    const done = () => { console.log(JSON.stringify({ sentAt, answeredAt })); process.exit(0); };
    sock.on('message', (m) => {
      answeredAt[m.readUInt16BE(0) - 1] = Date.now();
      if (answeredAt.every((t) => t !== null)) done();
    });
    sock.bind(0, '127.0.0.1', () => setTimeout(() => {
      sentAt = Date.now();
      packets.forEach((p) => sock.send(p, ${port}, '127.0.0.1'));
      setTimeout(done, 5000);
    }, Math.max(0, ${sendAt} - Date.now())));`;
  const child = spawn(process.execPath, ['-e', script, ...packets.map((p) => p.toString('hex'))], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('close', () =>
      out ? resolve(JSON.parse(out) as { sentAt: number; answeredAt: (number | null)[] }) : reject(new Error('the sending process printed nothing')),
    ),
  );
}

/**
 * From another process at `sendAt` (a Date.now() time): `n` queries for distinct names, as fast as it can send them;
 * resolves with when the last was sent (Date.now()).
 */
function floodFromChild(port: number, n: number, sendAt: number): Promise<number> {
  const script = `
    const sock = require('node:dgram').createSocket('udp4');
    const query = (i) => {
      const label = Buffer.from('n' + i);
      const head = Buffer.from([i >> 8, i & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
      return Buffer.concat([head, Buffer.from([label.length]), label, Buffer.from([7]), Buffer.from('example'), Buffer.from([0, 0, 16, 0, 1])]);
    };
    sock.bind(0, '127.0.0.1', () => setTimeout(() => {
      let i = 0;
      const burst = () => {
        for (let k = 0; k < 500 && i < ${n}; k++, i++) sock.send(query(i), ${port}, '127.0.0.1');
        if (i < ${n}) setImmediate(burst);
        else (console.log(Date.now()), setTimeout(() => process.exit(0), 200));
      };
      burst();
    }, Math.max(0, ${sendAt} - Date.now())));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('close', () => resolve(Number(out.trim()))));
}

describe('the socket has a thread of its own', () => {
  it('answers a repeat while the main thread is busy; a query for the answerer waits for the main thread', async () => {
    const { port, calls } = await serve(100, (cacheable) => {
      cacheable.untilMs = Date.now() + 30_000;
      cacheable.agesAtMs = cacheable.untilMs;
    });
    await sendUdp(port, query(9));
    // IDs 1 and 2: the child files each answer by its ID.
    const child = sendFromChild(port, [query(1), query(2, 'other.example')], Date.now() + 300);
    // This thread, the one JavaScript and the answerer run on, is held for 2 s.
    const busyUntil = Date.now() + 2000;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, busyUntil - Date.now());
    const { sentAt, answeredAt } = await child;
    expect(sentAt, 'the sending process started too late to send while the main thread was held').toBeLessThan(busyUntil - 500);
    const [repeat, other] = answeredAt;
    expect(repeat).not.toBeNull();
    expect(repeat!).toBeLessThan(busyUntil);
    expect(other).not.toBeNull();
    expect(other!).toBeGreaterThanOrEqual(busyUntil);
    expect(calls.map((c) => c.readUInt16BE(0))).toEqual([9, 2]);
  });

  it('queues at most 4,096 queries for a busy main thread, and counts those dropped beyond', async () => {
    const { calls } = await serve(100, () => undefined);
    const busyUntil = Date.now() + 2500;
    const flood = floodFromChild(endpoint!.port, 10_000, Date.now() + 300);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, busyUntil - Date.now());
    expect(await flood, 'the flooding process finished sending only after the main thread was free again').toBeLessThan(busyUntil);
    // Once free, the main thread answers every query queued for it.
    await until('the queued queries to reach the answerer', () => calls.length >= 4096, 5000);
    const dropped = endpoint!.counts().queue;
    expect(calls).toHaveLength(4096);
    expect(dropped).toBeGreaterThan(0);
    // What neither reached the answerer nor was counted here, the kernel dropped (its socket queue full).
    expect(calls.length + dropped).toBeLessThanOrEqual(10_000);
  });
});
