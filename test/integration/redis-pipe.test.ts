import net from 'node:net';
/** The pipelined read connection against a real Redis: order, databases, credentials, a stalled and a cut connection. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { ReadPipe, pipeTarget, type PipeTarget } from '../../src/redis/pipe.js';
import { commandHead, type RespReply } from '../../src/redis/resp.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

const GET = commandHead('GET', 2);
const TTL = commandHead('TTL', 2);
const CLIENT_ID = commandHead('CLIENT', 2);
const BLPOP = commandHead('BLPOP', 3);

let redis: TestRedis;
const pipes: ReadPipe[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const kv: string[] = [];
  for (let i = 0; i < 10_000; i++) kv.push(`p${i}`, `value ${i}`);
  await redis.client.mset(kv);
  await redis.client.call('ACL', 'SETUSER', 'piper', 'on', '>pw', '~*', '+@read', '+@connection', '-@dangerous');
});

afterAll(async () => {
  for (const p of pipes) p.disconnect();
  await redis?.stop();
});

function pipe(target: PipeTarget, timeoutMs = 1000) {
  const lines: string[] = [];
  const p = new ReadPipe(target, { timeoutMs, log: createLogger('info', 'test', (l) => lines.push(l)), where: `127.0.0.1:${redis.port}` });
  pipes.push(p);
  return { p, lines };
}

const local = (extra: Partial<PipeTarget> = {}): PipeTarget => ({ host: '127.0.0.1', port: redis.port, tls: false, db: 0, ...extra });

/** Resolves once `f` stops throwing, or rejects with its last error after `ms`. */
async function eventually<T>(f: () => Promise<T>, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await f();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('pipeTarget', () => {
  it.each([
    ['redis://127.0.0.1:6380', { host: '127.0.0.1', port: 6380, tls: false, db: 0 }],
    ['rediss://cache.example:6390/4', { host: 'cache.example', port: 6390, tls: true, db: 4 }],
    ['redis://reader:p%40ss@[::1]:6379/2', { host: '::1', port: 6379, tls: false, db: 2, username: 'reader', password: 'p@ss' }],
    ['redis://:secret@localhost', { host: 'localhost', port: 6379, tls: false, db: 0, password: 'secret' }],
  ])('%s', (url, target) => {
    expect(pipeTarget(url)).toEqual(target);
  });

  it.each(['redis://127.0.0.1:6379/?family=6', 'redis://user@127.0.0.1:6379', 'redis://127.0.0.1:6379/x', 'http://127.0.0.1'])(
    'leaves %s to ioredis',
    (url) => {
      expect(pipeTarget(url)).toBeNull();
    },
  );
});

describe('ReadPipe', () => {
  it('answers 20,000 commands sent in one turn, each with its own reply', async () => {
    const { p } = pipe(local());
    await p.connect();
    await redis.client.expire('p5', 100);
    const gets = Array.from({ length: 10_000 }, (_, i) => p.send(GET, `p${i}`));
    const ttls = Array.from({ length: 10_000 }, (_, i) => p.send(TTL, Buffer.from(`p${i}`)));
    expect(p.queued()).toBe(20_000);
    const values = await Promise.all(gets);
    expect(values.every((v, i) => Buffer.isBuffer(v) && v.toString() === `value ${i}`)).toBe(true);
    const t = await Promise.all(ttls);
    expect(t[5]).toBeGreaterThan(90);
    expect(t.filter((x) => x === -1).length).toBe(9_999);
    expect(p.queued()).toBe(0);
  });

  it('an error reply fails its own command only', async () => {
    const { p } = pipe(local());
    await p.connect();
    await redis.client.hset('a-hash', 'f', '1');
    const [bad, good] = await Promise.allSettled([p.send(GET, 'a-hash'), p.send(GET, 'p1')]);
    expect(bad).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/^WRONGTYPE/) } });
    expect(good).toMatchObject({ status: 'fulfilled', value: Buffer.from('value 1') });
  });

  it('sendWithTtl: a read and the TTL of its key as one pair, interleaved with single commands; an error reply fails the pair', async () => {
    const { p } = pipe(local());
    await p.connect();
    await redis.client.expire('p7', 100);
    await redis.client.hset('a-hash', 'f', '1');
    const [withExpiry, single, missing, withoutExpiry, bad] = await Promise.allSettled([
      p.sendWithTtl(GET, Buffer.from('p7')),
      p.send(GET, 'p8'),
      p.sendWithTtl(GET, Buffer.from('no-such-key')),
      p.sendWithTtl(GET, Buffer.from('p9')),
      p.sendWithTtl(GET, Buffer.from('a-hash')),
    ]);
    expect(withExpiry).toMatchObject({ status: 'fulfilled', value: [Buffer.from('value 7'), expect.any(Number)] });
    expect((withExpiry as PromiseFulfilledResult<[Buffer, number]>).value[1]).toBeGreaterThan(90);
    expect(single).toMatchObject({ status: 'fulfilled', value: Buffer.from('value 8') });
    expect(missing).toMatchObject({ status: 'fulfilled', value: [null, -2] });
    expect(withoutExpiry).toMatchObject({ status: 'fulfilled', value: [Buffer.from('value 9'), -1] });
    expect(bad).toMatchObject({ status: 'rejected', reason: { message: expect.stringMatching(/^WRONGTYPE/) } });
    expect(p.queued()).toBe(0);
  });

  it("sendInto: an MGET's values as bytes in key order, nils included, between replies that stay values", async () => {
    const { p } = pipe(local());
    await p.connect();
    await redis.client.hset('a-hash', 'f', '1');
    await redis.client.set('empty', '');
    // 5,000 values and more: a reply that arrives over many reads.
    const keys = [...Array.from({ length: 5000 }, (_, i) => `p${i}`), 'no-such-key', 'a-hash', 'empty'].map((k) => Buffer.from(k));
    const took: (string | null)[] = [];
    const before = p.send(GET, 'p1');
    const into = p.sendInto('MGET', keys, (b, from, to) => took.push(b === null ? null : b.toString('latin1', from, to)));
    const after = p.send(GET, 'p2');
    await into;
    expect(took).toEqual([...Array.from({ length: 5000 }, (_, i) => `value ${i}`), null, null, '']);
    expect([await before, await after]).toEqual([Buffer.from('value 1'), Buffer.from('value 2')]);
    // An error reply rejects, and the next reply is a value again.
    await expect(p.sendInto('GET', [Buffer.from('a-hash')], () => undefined)).rejects.toThrow(/^WRONGTYPE/);
    expect(await p.send(GET, 'p3')).toEqual(Buffer.from('value 3'));
  });

  it('selects the database the URL names', async () => {
    const other = new Redis(`${redis.url}/3`);
    await other.set('p1', 'from db 3');
    other.disconnect();
    const { p } = pipe(local({ db: 3 }));
    await p.connect();
    expect(await p.send(GET, 'p1')).toEqual(Buffer.from('from db 3'));
  });

  it('authenticates as an ACL user; a wrong password fails the connect and every read, with the reason', async () => {
    const { p } = pipe(local({ username: 'piper', password: 'pw' }));
    await p.connect();
    expect(await p.send(GET, 'p2')).toEqual(Buffer.from('value 2'));
    const { p: wrong } = pipe(local({ username: 'piper', password: 'nope' }));
    await expect(wrong.connect()).rejects.toThrow(/WRONGPASS/);
    await expect(wrong.send(GET, 'p2')).rejects.toThrow(/not connected/);
    wrong.disconnect();
  });

  it('a stalled Redis fails the waiting reads after the timeout, and reads work again once it answers', async () => {
    const { p } = pipe(local(), 300);
    await p.connect();
    await redis.client.call('CLIENT', 'PAUSE', '1500', 'ALL');
    const t0 = Date.now();
    await expect(p.send(GET, 'p3')).rejects.toThrow(/no reply in 300 ms/);
    // Failed by the timeout, before Redis's pause (1.5 s) would have let the reply come.
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(await eventually(() => p.send(GET, 'p3'))).toEqual(Buffer.from('value 3'));
  });

  it('a connection cut by the server fails what was waiting, is logged, and is made again', async () => {
    const { p, lines } = pipe(local(), 30_000);
    await p.connect();
    const id = await p.send(CLIENT_ID, 'ID');
    // A read that waits: BLPOP on an empty list holds its reply for 20 s, far beyond the cut.
    const waiting = p.send(BLPOP, 'empty-list', '20').then(
      () => 'answered',
      (e: Error) => e.message,
    );
    await eventually(async () => expect(Number((await redis.client.info('clients')).match(/blocked_clients:(\d+)/)?.[1])).toBe(1), 2000);
    await redis.client.call('CLIENT', 'KILL', 'ID', String(id));
    expect(await waiting).toMatch(/^redis 127\.0\.0\.1:\d+: connection lost \(Redis closed the connection\)$/);
    expect(await eventually(() => p.send(GET, 'p4'))).toEqual(Buffer.from('value 4'));
    expect(lines.join('')).toMatch(/read connection lost \(.*\); reconnecting/);
    expect(lines.join('')).toMatch(/read connection made again/);
  });

  it('after disconnect, reads fail at once', async () => {
    const { p } = pipe(local());
    await p.connect();
    p.disconnect();
    await expect(p.send(GET, 'p1')).rejects.toThrow(/not connected \(closed\)/);
  });
});

describe('a reply read early', () => {
  it("the next SCAN goes out on the last one's cursor while the rest of that reply is still to come", async () => {
    // The server holds back the rest of the first reply until the SCAN of its cursor has come: a client that
    // waited for the whole reply before asking again would wait until its read timed out.
    let received = '';
    const sent = new Set<string>();
    const server = net.createServer((sock) => {
      sock.on('data', (d) => {
        received += d.toString('latin1');
        const once = (what: string, bytes: string) => sent.has(what) || (sent.add(what), sock.write(bytes));
        if (received.includes('$4\r\nSCAN\r\n$1\r\n0\r\n')) once('first half', '*2\r\n$2\r\n17\r\n*2\r\n$1\r\na\r\n');
        if (received.includes('$4\r\nSCAN\r\n$2\r\n17\r\n')) once('the rest', '$1\r\nb\r\n*2\r\n$1\r\n0\r\n*1\r\n$1\r\nc\r\n');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const p = new ReadPipe(
        { host: '127.0.0.1', port, tls: false, db: 0 },
        { timeoutMs: 1000, log: createLogger('info', 'test', () => undefined), where: 'fake' },
      );
      pipes.push(p);
      await p.connect();
      const second: Promise<RespReply>[] = [];
      const first = p.sendAll('SCAN', [Buffer.from('0')], true, (cursor) => second.push(p.sendAll('SCAN', [cursor as Buffer], true)));
      expect(await first).toEqual([Buffer.from('17'), [Buffer.from('a'), Buffer.from('b')]]);
      expect(await second[0]).toEqual([Buffer.from('0'), [Buffer.from('c')]]);
    } finally {
      server.close();
    }
  });
});
