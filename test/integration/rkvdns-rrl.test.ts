/**
 * Response rate limiting against a real server: a flood from one client network is held to the rate, one in
 * RRL_SLIP limited responses is a TC=1 answer, another network is answered throughout, TCP is never limited,
 * and 100,000 distinct sources leave the table, and the memory, bounded. Distinct loopback addresses stand
 * for distinct clients.
 */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, buildQuery, decode } from '../helpers/dns.js';
import { rssKb } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { counter, introspect, startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';

const RATE = 50;
let redis: TestRedis;
let server: TestRkvdns;

beforeAll(async () => {
  redis = await startRedis();
  await redis.client.set('k', 'v');
  // 127.0.0.1 (the test's own stats queries) is exempt.
  server = await startRkvdns(redis.url, { RRL_RESPONSES_PER_SECOND: RATE, RRL_SLIP: 2, RRL_EXEMPT: '127.0.0.1', RRL_TABLE_SIZE: 5000 });
});

afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

interface Received {
  at: number;
  tc: boolean;
}

/** Sends `perSecond` queries a second for `seconds` from `from`; every answer with its arrival time (s). */
async function sendFrom(from: string, perSecond: number, seconds: number): Promise<{ sent: number; answers: Received[] }> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, from, () => r()));
  const answers: Received[] = [];
  const t0 = performance.now();
  s.on('message', (m) => answers.push({ at: (performance.now() - t0) / 1000, tc: decode(m).flag_tc === true }));
  let sent = 0;
  const query = buildQuery(`k.get.${ZONE}`, 'TXT');
  while (performance.now() - t0 < seconds * 1000) {
    const due = Math.floor(((performance.now() - t0) / 1000) * perSecond);
    for (; sent < due; sent++) s.send(query, server.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 300));
  s.close();
  return { sent, answers };
}

describe('response rate limiting', () => {
  it('holds a flooding network to the rate, slips one in two limited answers, and answers another network throughout', async () => {
    const [flood, other] = await Promise.all([sendFrom('127.0.1.5', 1000, 4), sendFrom('127.0.2.5', 20, 4)]);
    // After the first second (which starts with a second's credit), full answers arrive at the rate.
    const full = flood.answers.filter((a) => !a.tc && a.at >= 1 && a.at < 4).length;
    expect(full).toBeGreaterThanOrEqual(3 * RATE * 0.9);
    expect(full).toBeLessThanOrEqual(3 * RATE * 1.1);
    const slipped = await counter(server.port, 'rrl_slipped');
    const dropped = await counter(server.port, 'rrl_dropped');
    expect(flood.answers.filter((a) => a.tc).length).toBe(slipped);
    expect(Math.abs(slipped - dropped)).toBeLessThanOrEqual(Math.max(2, dropped * 0.1));
    expect(slipped + dropped).toBeGreaterThan(flood.sent * 0.8);
    // The other network, at 20 a second, never met the limit.
    expect(other.answers.length).toBe(other.sent);
    expect(other.answers.every((a) => !a.tc)).toBe(true);
  }, 20_000);

  it('never limits TCP, also for the flooding network', async () => {
    const answers = await Promise.all(Array.from({ length: 200 }, () => ask(server.port, `k.get.${ZONE}`, 'TXT', { tcp: true, from: '127.0.1.6' })));
    expect(answers.every((d) => d.rcode === 'NOERROR' && d.answers?.length === 1)).toBe(true);
  });

  it('a flood from 100,000 distinct sources keeps the table and the memory bounded', async () => {
    const before = rssKb(server.proc.pid);
    const query = buildQuery(`k.get.${ZONE}`, 'TXT');
    const socks: dgram.Socket[] = [];
    // 100,000 addresses of 127.0.0.0/8, one query each, through 250 sockets at a time.
    for (let base = 0; base < 100_000; base += 250) {
      await Promise.all(
        Array.from({ length: 250 }, async (_, j) => {
          const i = base + j + 65_536;
          const s = dgram.createSocket('udp4');
          socks.push(s);
          await new Promise<void>((r) => s.bind(0, `127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, () => r()));
          await new Promise<void>((r) => s.send(query, server.port, '127.0.0.1', () => r()));
        }),
      );
      for (const s of socks.splice(0)) s.close();
    }
    await new Promise((r) => setTimeout(r, 500));
    const lines = await introspect(server.port, 'queues');
    const accounts = Number(lines.find((l) => l.startsWith('rrl_accounts:'))?.split(':')[1]);
    expect(accounts).toBeLessThanOrEqual(5000);
    expect(accounts).toBeGreaterThan(0);
    expect(rssKb(server.proc.pid) - before).toBeLessThan(60 * 1024);
  }, 120_000);
});
