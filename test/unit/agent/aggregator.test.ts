import { describe, expect, it } from 'vitest';
import { AgentStats } from '../../../src/agent/stats.js';
import { Aggregator } from '../../../src/agent/aggregator.js';
import { OnceWriter } from '../../../src/agent/writer.js';
import { createLogger } from '../../../src/common/log.js';

describe('aggregator with the at-most-once writer', () => {
  /** One share as the writer sent it: group, sequence number, and key=count pairs. */
  type Sent = [number, number, string];
  /**
   * A stand-in for Redis's script: `outcome` decides each call (applied, refused keys, "applied before",
   * or no reply); `groupOf` splits keys into slots as a cluster would.
   */
  const setup = (outcome: (group: number, keys: string[], seq: number) => string[] | null | Error = () => [], groupOf = (_k: string) => 0, maxKeys = 3) => {
    const stats = new AgentStats();
    const sent: Sent[] = [];
    const writer = new OnceWriter(async (group, keys, batch, seq) => {
      sent.push([group, seq, keys.map((k) => `${k}=${batch.get(k)!.n}`).join(' ')]);
      const o = outcome(group, keys, seq);
      if (o instanceof Error) throw o;
      return o;
    }, groupOf);
    return { stats, sent, writer, agg: new Aggregator(writer, stats, createLogger('silent', 't'), maxKeys, 1000) };
  };

  it('sums per key and writes one entry per key', async () => {
    const { agg, stats, sent } = setup();
    for (const k of ['a', 'b', 'a', 'a']) agg.add(k, 60);
    await agg.flush();
    expect(sent).toEqual([[0, 1, 'a=3 b=1']]);
    expect(stats.written).toBe(4);
  });

  it('a write without a reply is retried exactly as sent, with its number; new counts wait and go after it', async () => {
    let down = true;
    const { agg, stats, sent } = setup(() => (down ? new Error('Command timed out') : []));
    agg.add('a', 60);
    agg.add('b', 60);
    await agg.flush();
    expect([agg.pendingIncrements, stats.written, stats.redis_errors]).toEqual([2, 0, 1]);
    agg.add('a', 60);
    // Still no reply: the same share is tried again and nothing new is sent.
    await agg.flush();
    down = false;
    await agg.flush();
    expect(sent).toEqual([
      [0, 1, 'a=1 b=1'],
      [0, 1, 'a=1 b=1'],
      [0, 1, 'a=1 b=1'],
      [0, 2, 'a=1'],
    ]);
    expect([stats.written, agg.pendingIncrements]).toEqual([3, 0]);
  });

  it('a share Redis had applied after all (its number already in the token) counts once', async () => {
    let call = 0;
    // The first attempt's reply is lost; the retry finds the token at its number: applied before.
    const { agg, stats } = setup(() => (++call === 1 ? new Error('Connection is closed.') : null));
    for (const k of ['a', 'a', 'b']) agg.add(k, 60);
    await agg.flush();
    await agg.flush();
    expect([stats.written, agg.pendingIncrements]).toEqual([3, 0]);
  });

  it('beyond the distinct-key limit new keys are dropped and counted; held keys keep counting', async () => {
    const { agg, stats } = setup();
    for (const k of ['a', 'b', 'c', 'd', 'a', 'e']) agg.add(k, 60);
    expect(agg.pendingKeys).toBe(3);
    expect(agg.pendingIncrements).toBe(4);
    expect(stats.dropped_pending_full).toBe(2);
  });

  it('keys Redis refuses are counted as dropped, not retried', async () => {
    const { agg, stats } = setup(() => ['b']);
    agg.add('a', 60);
    agg.add('b', 60);
    agg.add('b', 60);
    await agg.flush();
    expect([stats.written, stats.dropped_wrongtype, agg.pendingIncrements]).toEqual([1, 2, 0]);
  });

  it('one cluster slot without a reply: only its share is in doubt; its new counts wait, the other slots go on', async () => {
    let down = true;
    const groupOf = (k: string) => (k === 'b' ? 2 : 1);
    const { agg, stats, sent } = setup((group) => (down && group === 2 ? new Error('CLUSTERDOWN') : []), groupOf);
    for (const k of ['a', 'b', 'b', 'c']) agg.add(k, 60);
    await agg.flush();
    expect([stats.written, agg.pendingIncrements, stats.redis_errors]).toEqual([2, 2, 1]);
    agg.add('b', 60);
    agg.add('c', 60);
    await agg.flush();
    // Slot 1 took its new count; slot 2's new count waits behind its share in doubt.
    expect([stats.written, agg.pendingKeys, agg.pendingIncrements]).toEqual([3, 1, 3]);
    down = false;
    await agg.flush();
    await agg.flush();
    expect(sent.filter(([g]) => g === 2)).toEqual([
      [2, 1, 'b=2'],
      [2, 1, 'b=2'],
      [2, 1, 'b=2'],
      [2, 3, 'b=1'],
    ]);
    expect([stats.written, agg.pendingIncrements]).toEqual([6, 0]);
  });

  it('at shutdown, increments in doubt are counted with the pending ones as not written', async () => {
    const { agg, stats } = setup(() => new Error('down'));
    agg.add('a', 60);
    await agg.flush();
    agg.add('b', 60);
    agg.abandon();
    expect([stats.dropped_at_shutdown, agg.pendingIncrements]).toEqual([2, 0]);
  });
});
