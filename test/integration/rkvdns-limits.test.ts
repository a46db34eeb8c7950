/**
 * Limits end to end, each against a real rkvdns and Redis: a Redis that hangs (SIGSTOP) answers SERVFAIL within
 * REDIS_TIMEOUT_MS; MAX_KEYS counts only the keys served; an hget field under CASE_FOLDING escape; one TCP
 * connection's queries in flight are capped and the rest wait in the kernel (back-pressure); response rate
 * limiting with RRL_SLIP 0 drops without a TC answer, and forgets a network after RRL_WINDOW.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, buildQuery, decode, txt } from '../helpers/dns.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { counter, introspect, startRkvdns, ZONE } from '../helpers/rkvdns.js';
import { until } from '../helpers/wait.js';

let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const gauge = async (port: number, name: string) => Number((await introspect(port, 'queues')).find((l) => l.startsWith(`${name}:`))?.split(':')[1]);

describe('Redis hangs', () => {
  it('a query waiting on a stopped Redis is answered SERVFAIL after REDIS_TIMEOUT_MS, not later and not sooner', async () => {
    await redis.client.set('hang', 'v');
    const server = await startRkvdns(redis.url, { REDIS_TIMEOUT_MS: 600 });
    try {
      expect(txt(await ask(server.port, `hang.get.${ZONE}`, 'TXT'))).toEqual([['v']]);
      process.kill(redis.proc.pid, 'SIGSTOP');
      const t0 = Date.now();
      const d = await ask(server.port, `other.get.${ZONE}`, 'TXT', { timeoutMs: 5000 });
      const took = Date.now() - t0;
      expect(d.rcode).toBe('SERVFAIL');
      expect(took).toBeGreaterThanOrEqual(550);
      expect(took).toBeLessThan(3000);
      expect(await counter(server.port, 'error_redis')).toBe(1);
    } finally {
      process.kill(redis.proc.pid, 'SIGCONT');
      await server.stop();
    }
  });
});

describe('MAX_KEYS', () => {
  it('counts only the keys served: hidden keys never make a listing too large', async () => {
    const pipe = redis.client.pipeline();
    for (let i = 0; i < 50; i++) pipe.set(`cap;hidden;${i}`, '1');
    for (let i = 0; i < 4; i++) pipe.set(`cap;shown;${i}`, '1');
    await pipe.exec();
    const server = await startRkvdns(redis.url, { MAX_KEYS: 10, EXPOSE_KEYS: 'cap;shown;*' });
    try {
      // 54 keys match, 4 are served: under MAX_KEYS.
      const d = await ask(server.port, `cap\\;*.keys.${ZONE}`, 'TXT', { tcp: true });
      expect(d.rcode).toBe('NOERROR');
      expect(txt(d).flat().sort()).toEqual(['cap;shown;0', 'cap;shown;1', 'cap;shown;2', 'cap;shown;3']);
      for (let i = 4; i < 11; i++) await redis.client.set(`cap;shown;${i}`, '1');
      // 11 served keys: over it.
      expect((await ask(server.port, `cap\\;s*.keys.${ZONE}`, 'TXT', { tcp: true })).rcode).toBe('SERVFAIL');
      expect(await counter(server.port, 'error_toomany')).toBe(1);
    } finally {
      await server.stop();
    }
  });
});

describe('CASE_FOLDING escape', () => {
  it('folds an hget field label as it folds the key', async () => {
    await redis.client.hset('Users', 'AlIce', 'admin');
    const server = await startRkvdns(redis.url, { CASE_FOLDING: 'escape' });
    try {
      // Escape characters . + - (the dot written \. in a name): `.` makes the next byte literal, `+` upper case, `-`
      // lower case.
      const d = await ask(server.port, `\\.+-+al+ice.\\.+-+users.hget.${ZONE}`, 'TXT');
      expect(txt(d)).toEqual([['admin']]);
      // The same letters without escapes are another field and another key.
      expect(txt(await ask(server.port, `\\.+-alice.\\.+-+users.hget.${ZONE}`, 'TXT'))).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});

describe('TCP back-pressure', () => {
  it('one connection has at most 100 queries in flight; the rest wait unread until those are answered', async () => {
    await redis.client.set('bp', 'v');
    const server = await startRkvdns(redis.url, { REDIS_TIMEOUT_MS: 30_000 });
    const sock = net.connect(server.port, '127.0.0.1');
    try {
      await new Promise<void>((r) => sock.once('connect', () => r()));
      let answers = 0;
      let buf = Buffer.alloc(0);
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          answers++;
          buf = buf.subarray(2 + buf.readUInt16BE(0));
        }
      });
      process.kill(redis.proc.pid, 'SIGSTOP');
      // 300 queries for distinct keys: each must wait for Redis.
      for (let i = 0; i < 300; i++) {
        const q = buildQuery(`bp${i}.get.${ZONE}`, 'TXT', { id: i });
        sock.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q]));
      }
      await until('100 queries waiting', async () => (await gauge(server.port, 'pending')) >= 100, 5000);
      // Held there: the connection is paused at 100, the other 200 stay in the kernel's buffers.
      await new Promise((r) => setTimeout(r, 300));
      expect(await gauge(server.port, 'pending')).toBe(100);
      process.kill(redis.proc.pid, 'SIGCONT');
      await until(
        'all 300 answered',
        () => answers === 300,
        10_000,
        () => `${answers} answered`,
      );
    } finally {
      process.kill(redis.proc.pid, 'SIGCONT');
      sock.destroy();
      await server.stop();
    }
  });
});

describe('response rate limiting', () => {
  /** Sends `n` UDP queries from `from` as fast as it can; the answers (TC set or not) that come within 500 ms. */
  async function burst(port: number, from: string, n: number): Promise<{ full: number; tc: number }> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, from, () => r()));
    const got = { full: 0, tc: 0 };
    s.on('message', (m) => (decode(m).flag_tc ? got.tc++ : got.full++));
    const q = buildQuery(`k.get.${ZONE}`, 'TXT');
    for (let i = 0; i < n; i++) s.send(q, port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 500));
    s.close();
    return got;
  }

  it('RRL_SLIP 0 drops every response over the rate, none as TC; RRL_WINDOW forgets a network after it', async () => {
    await redis.client.set('k', 'v');
    const server = await startRkvdns(redis.url, { RRL_RESPONSES_PER_SECOND: 5, RRL_SLIP: 0, RRL_WINDOW: 2 });
    try {
      const first = await burst(server.port, '127.0.3.1', 50);
      // A second's credit (5), give or take the refill while the burst went out.
      expect(first.full).toBeGreaterThanOrEqual(5);
      expect(first.full).toBeLessThanOrEqual(8);
      expect(first.tc).toBe(0);
      expect(await counter(server.port, 'rrl_dropped')).toBe(50 - first.full);
      expect(await counter(server.port, 'rrl_slipped')).toBe(0);
      expect(await gauge(server.port, 'rrl_accounts')).toBe(1);
      // Idle for longer than the window: the network is forgotten.
      await until('the account to be forgotten', async () => (await gauge(server.port, 'rrl_accounts')) === 0, 10_000);
    } finally {
      await server.stop();
    }
  }, 20_000);
});
