/**
 * The batched UDP path's answer cache (answer_cache.h), through bindUdp with an answerer of the test's own: a
 * repeat of a cached query is answered by the addon with the query's ID and the TTLs aged as agedAnswer ages
 * them (answer and authority records, not the OPT record, never below 0), counted under its tally, and never
 * reaches the answerer; other bytes, an ended answer, and an answer refused at cache() do. From its refresh
 * point, one repeat is answered and also reaches the answerer, flagged. An answer's `next` takes its place once
 * in, or drops it if it cannot be kept. Kept per client, an answer goes to no other client.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/common/log.js';
import { bindUdp, notCacheable, type Cacheable, type UdpEndpoint, type UdpOptions } from '../../src/dns/udp.js';
import { sendUdp } from '../helpers/dns.js';
import { until } from '../helpers/wait.js';
import { answerTo, NS_TTL_AT, OPT_TTL_AT, query, serveAnswers, TXT_TTL_AT } from '../helpers/udp-answerer.js';

const log = createLogger('silent', 'test');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let endpoint: UdpEndpoint | undefined;

afterEach(() => {
  endpoint?.close();
  endpoint = undefined;
});

async function serve(ttl: number, mark: (cacheable: Cacheable) => void, options: UdpOptions = {}) {
  const served = await serveAnswers(ttl, mark, options);
  endpoint = served.endpoint;
  return served;
}

describe('the batched path answers repeats itself', () => {
  it('with the query ID, TTLs aged by the seconds since agesAt (OPT untouched), counted under the tally', async () => {
    const { port, calls } = await serve(100, (cacheable) => {
      cacheable.untilMs = Date.now() + 10_000;
      cacheable.agesAtMs = Date.now() - 2500; // an answer that has aged by 3 seconds since
      cacheable.tally = 5;
    });
    const first = (await sendUdp(port, query(1)))!;
    expect(first.readUInt32BE(TXT_TTL_AT(query(1)))).toBe(100);
    const repeat = (await sendUdp(port, query(2)))!;
    expect(calls).toHaveLength(1);
    expect(repeat.readUInt16BE(0)).toBe(2);
    const q = query(2);
    expect(repeat.readUInt32BE(TXT_TTL_AT(q))).toBe(97);
    expect(repeat.readUInt32BE(NS_TTL_AT(q))).toBe(47);
    expect(repeat.readUInt32BE(OPT_TTL_AT(q))).toBe(0x8000);
    // Apart from the ID and the two TTLs, byte for byte the first answer.
    const same = Buffer.from(repeat);
    same.writeUInt16BE(1, 0);
    same.writeUInt32BE(100, TXT_TTL_AT(q));
    same.writeUInt32BE(50, NS_TTL_AT(q));
    expect(same.equals(first)).toBe(true);
    expect(endpoint!.cacheCounts![5]).toBe(1);
    expect(endpoint!.counts().cached).toBe(1);
  });

  it('never ages a TTL below 0', async () => {
    const { port } = await serve(2, (cacheable) => {
      cacheable.untilMs = Date.now() + 10_000;
      cacheable.agesAtMs = Date.now() - 5500;
    });
    await sendUdp(port, query(1));
    const repeat = (await sendUdp(port, query(2)))!;
    expect(repeat.readUInt32BE(TXT_TTL_AT(query(2)))).toBe(0);
    expect(repeat.readUInt32BE(NS_TTL_AT(query(2)))).toBe(0);
  });

  it('other bytes (the case of one letter) reach the answerer', async () => {
    const { port, calls } = await serve(100, (cacheable) => {
      cacheable.untilMs = Date.now() + 10_000;
      cacheable.agesAtMs = cacheable.untilMs;
    });
    await sendUdp(port, query(1));
    await sendUdp(port, query(2, 'Repeat.example'));
    await sendUdp(port, query(3));
    expect(calls.map((c) => c.readUInt16BE(0))).toEqual([1, 2]);
  });

  it('kept per client (cachePerClient), an answer goes to the client it was given to and to no other', async () => {
    // One clock reading for both: an agesAtMs a millisecond past untilMs would not be kept.
    const mark = (cacheable: Cacheable, ends = Date.now() + 10_000) => Object.assign(cacheable, { untilMs: ends, agesAtMs: ends, tally: 0 });
    const { port, calls } = await serve(100, mark, { cachePerClient: true });
    const from = async (client: string, id: number) => (await sendUdp(port, query(id), 3000, '127.0.0.1', client))!.readUInt16BE(0);
    expect(await from('127.0.0.1', 1)).toBe(1);
    expect(await from('127.0.0.1', 2)).toBe(2);
    expect(calls).toHaveLength(1);
    // The same bytes from another client reach the answerer, which may refuse them; then that client's own repeat does not.
    expect(await from('127.0.0.2', 3)).toBe(3);
    expect(calls).toHaveLength(2);
    expect(await from('127.0.0.2', 4)).toBe(4);
    expect(calls).toHaveLength(2);
    expect(endpoint!.counts().cached).toBe(2);
  });

  it('an answer past its untilMs reaches the answerer again', async () => {
    const ends = Date.now() + 300;
    const { port, calls } = await serve(100, (cacheable) => {
      cacheable.untilMs = ends;
      cacheable.agesAtMs = ends;
    });
    await sendUdp(port, query(1));
    await sendUdp(port, query(2));
    expect(calls).toHaveLength(1);
    await sleep(ends - Date.now() + 10);
    await sendUdp(port, query(3));
    expect(calls).toHaveLength(2);
  });

  it.each([
    ['kept in its place', 'kept'],
    ['if it cannot be kept, drops the old one all the same', 'refused'],
    ['null: the old one holds', 'none'],
  ] as const)('an answer given with `next` is replaced by it once it is in: %s', async (_, how) => {
    let settle: (n: Awaited<NonNullable<Cacheable['next']>>) => void = () => undefined;
    const next = new Promise<Awaited<NonNullable<Cacheable['next']>>>((r) => (settle = r));
    const ends = Date.now() + 10_000;
    const { port, calls } = await serve(100, (cacheable) => Object.assign(cacheable, { untilMs: ends, agesAtMs: ends, tally: 0, next }));
    const ttl = async (id: number) => (await sendUdp(port, query(id)))!.readUInt32BE(TXT_TTL_AT(query(id)));
    expect(await ttl(1)).toBe(100);
    expect(await ttl(2)).toBe(100);
    expect(calls).toHaveLength(1);
    const cacheable: Cacheable = { ...notCacheable(), untilMs: how === 'refused' ? 0 : ends, agesAtMs: ends, tally: 1 };
    settle(how === 'none' ? null : { answer: answerTo(query(0), 7), cacheable });
    // The endpoint hands `next`'s answer to the addon in a callback of `next`: done once the next turn comes.
    await next;
    await new Promise((r) => setImmediate(r));
    expect(await ttl(3)).toBe(how === 'kept' ? 7 : 100);
    expect(calls).toHaveLength(how === 'refused' ? 2 : 1);
    expect(endpoint!.cacheCounts![1]).toBe(how === 'kept' ? 1 : 0);
  });

  it('a refresh: the first repeat from refreshAtMs on gets the kept answer and also reaches the answerer, flagged, which counts it and whose answer is not sent', async () => {
    const answered: boolean[] = [];
    const ends = Date.now() + 10_000;
    const refreshAtMs = Date.now() + 1000;
    endpoint = await bindUdp(
      'batched',
      '127.0.0.1',
      0,
      (msg, _client, cacheable) => {
        answered.push(cacheable!.answered);
        if (answered.length === 1) Object.assign(cacheable!, { untilMs: ends, agesAtMs: ends, refreshAtMs, tally: 2 });
        return answerTo(msg, answered.length === 1 ? 100 : 7);
      },
      log,
    );
    const port = endpoint.port;
    /** Every answer to `id` within 300 ms, by its TTL. */
    const ttls = (id: number) =>
      new Promise<number[]>((resolve) => {
        const s = dgram.createSocket('udp4');
        const got: number[] = [];
        s.on('message', (m) => got.push(m.readUInt32BE(TXT_TTL_AT(query(id)))));
        s.send(query(id), port, '127.0.0.1');
        setTimeout(() => {
          s.close();
          resolve(got);
        }, 300);
      });
    expect(await ttls(1)).toEqual([100]);
    expect(await ttls(2)).toEqual([100]);
    expect(answered).toEqual([false]);
    expect(endpoint.cacheCounts![2]).toBe(1);
    await sleep(refreshAtMs - Date.now() + 10);
    // The refresh: one answer, the kept one; the answerer ran it, flagged; not counted under the tally.
    expect(await ttls(3)).toEqual([100]);
    expect(answered).toEqual([false, true]);
    expect(endpoint.cacheCounts![2]).toBe(1);
    // Once per answer kept: the next repeat is an ordinary one.
    expect(await ttls(4)).toEqual([100]);
    expect(answered).toEqual([false, true]);
    expect(endpoint.cacheCounts![2]).toBe(2);
  });

  it('refreshes alone are handed over together, gathered for a while, not one wakeup each', async () => {
    // The batch each call of the answerer came in: calls in one batch run in one synchronous stretch.
    let batch = 0;
    let open = false;
    const calls: { name: string; batch: number; answered: boolean }[] = [];
    const refreshAtMs = Date.now() + 300;
    endpoint = await bindUdp(
      'batched',
      '127.0.0.1',
      0,
      (msg, _client, cacheable) => {
        if (!open) {
          open = true;
          queueMicrotask(() => ((open = false), batch++));
        }
        calls.push({ name: msg.subarray(13, 14).toString(), batch, answered: cacheable!.answered });
        const ends = Date.now() + 10_000;
        if (!cacheable!.answered) Object.assign(cacheable!, { untilMs: ends, agesAtMs: ends, refreshAtMs, tally: 0 });
        return answerTo(msg, 100);
      },
      log,
    );
    const port = endpoint.port;
    await sendUdp(port, query(1, 'a.example'));
    await sendUdp(port, query(2, 'b.example'));
    await sleep(refreshAtMs - Date.now() + 10);
    // Both answered by the addon at once, 10 ms apart; both reach the answerer flagged, in one batch.
    expect(await sendUdp(port, query(3, 'a.example'))).not.toBeNull();
    await sleep(10);
    expect(await sendUdp(port, query(4, 'b.example'))).not.toBeNull();
    await until('both refreshes to reach the answerer', () => calls.filter((c) => c.answered).length === 2, 2000);
    const refreshes = calls.filter((c) => c.answered);
    expect(refreshes.map((c) => c.name)).toEqual(['a', 'b']);
    expect(refreshes[0]!.batch).toBe(refreshes[1]!.batch);
  });

  it('is not reused when left notCacheable, already ended, or marked with a tally out of range', async () => {
    for (const mark of [
      () => undefined,
      (cacheable: Cacheable) => Object.assign(cacheable, { untilMs: Date.now() - 1, agesAtMs: 0 }),
      (cacheable: Cacheable) => Object.assign(cacheable, { untilMs: Date.now() + 10_000, agesAtMs: Date.now(), tally: 64 }),
    ]) {
      const { port, calls } = await serve(100, mark);
      await sendUdp(port, query(1));
      await sendUdp(port, query(2));
      expect(calls).toHaveLength(2);
      expect(endpoint!.counts().cached).toBe(0);
      endpoint!.close();
    }
  });
});
