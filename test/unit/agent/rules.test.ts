import { describe, expect, it } from 'vitest';
import { AgentStats } from '../../../src/agent/stats.js';
import { Aggregator } from '../../../src/agent/aggregator.js';
import { OnceWriter } from '../../../src/agent/writer.js';
import { BucketClock } from '../../../src/agent/buckets.js';
import { buildAgentConfig } from '../../../src/agent/config.js';
import { splitLines } from '../../../src/agent/lines.js';
import { compileRule, keyFor } from '../../../src/agent/rules.js';
import { createLogger } from '../../../src/common/log.js';

const LINE = '10.0.0.224 - - [18/May/2025:05:41:49 +0000] "GET /Index.HTML;x=1 HTTP/1.1" 200 1234 "-" "curl"';

describe('rules', () => {
  it('the sample web_client rule joins address and status', () => {
    const r = compileRule({ prefix: 'web_client', source: 'sophia', port: 1, ttl: 3600, buckets: 4, matchex: '^(\\S+) \\S+ \\S+ \\[[^\\]]*\\] "[^"]*" (\\d{3}) ', matched: '{1},{2}' }, 0);
    expect(keyFor(r, r.regex.exec(LINE)!, 1747546800)).toEqual({ key: 'web_client;10.0.0.224,200;sophia;1747546800' });
  });

  it('declarative post-processing: cut_at, lowercase, truncate', () => {
    const r = compileRule({ prefix: 'web_page', source: 's', port: 1, ttl: 60, matchex: '"[A-Z]+ ([^ "?]+)', cut_at: ';', lowercase: true, truncate: 6 }, 0);
    expect(keyFor(r, r.regex.exec(LINE)!, 0)).toEqual({ key: 'web_page;/index;s;0' });
  });

  it('named groups and substitutions fill the key pattern; postproc null ignores the line', () => {
    const r = compileRule({ prefix: 'p', port: 1, ttl: 60, matchex: '" (?<status>\\d{3}) ', keypattern: '<prefix>;<status>;<site>;<start_ts>', substitutions: { site: 'eu' } }, 0);
    expect(keyFor(r, r.regex.exec(LINE)!, 5)).toEqual({ key: 'p;200;eu;5' });
    const pp = compileRule({ prefix: 'p', port: 1, ttl: 60, matchex: '" (\\d{3}) ', postproc: (m) => (m[1] === '200' ? null : { matched: m[1] }) }, 0);
    expect(keyFor(pp, pp.regex.exec(LINE)!, 5)).toEqual({ ignored: true });
  });

  it('shortens matched so the whole key fits one 63-byte DNS label', () => {
    const r = compileRule({ prefix: 'web_page', source: 'sophia', port: 1, ttl: 60, matchex: '(.*)' }, 0);
    const k = keyFor(r, r.regex.exec('x'.repeat(200))!, 1747546800);
    expect('key' in k && k.key.length).toBe(63);
    expect('key' in k && k.key.endsWith(';sophia;1747546800')).toBe(true);
  });

  it.each([
    [{ port: 1, ttl: 60, matchex: '(' }, /rule r: bad matchex/],
    [{ port: 1, ttl: 60, matchex: 'x', keypattern: '<a' }, /rule r: bad keypattern '<a': unbalanced '<'/],
    [{ ttl: 60, matchex: 'x' }, /rule r: no port/],
    [{ port: 1, ttl: 60, matchex: 'x', colour: 'red' }, /rule r: unknown field 'colour'/],
    [{ port: 1, matchex: 'x' }, /rule r: ttl must be a positive number/],
    [{ port: 1, ttl: 60, buckets: 61, matchex: 'x' }, /rule r: buckets must be/],
    [{ port: 1, ttl: 60, matchex: 'x', bucket_alignment: 'sideways' }, /bucket_alignment must be/],
    [{ port: 1, ttl: 60, matchex: 'x', keypattern: '<prefix>;<nothing>' }, /keypattern needs <nothing> but nothing provides it/],
    [{ port: 1, ttl: 60, matchex: 'x', matched: 'plain' }, /matched template 'plain' refers to no capture group/],
  ])('%j is rejected naming the rule', (spec, message) => {
    expect(() => compileRule({ name: 'r', prefix: 'p', ...spec } as never, 0)).toThrow(message);
  });

  it('defaults are inherited and rule fields win', () => {
    const cfg = buildAgentConfig({ defaults: { port: 9, ttl: 60, prefix: 'd' }, rules: [{ name: 'a', matchex: 'x' }, { name: 'b', matchex: 'y', port: 10 }] });
    expect(cfg.rules.map((r) => [r.name, r.port, r.fixed.prefix])).toEqual([['a', 9, 'd'], ['b', 10, 'd']]);
  });
});

describe('lines', () => {
  it('splits a datagram, drops CR and empty lines, escapes bytes outside 32..126', () => {
    expect(splitLines(Buffer.from('a\r\n\nb\x01\xffc\nlast', 'latin1'))).toEqual(['a', 'b\\x01\\xffc', 'last']);
    expect(splitLines(Buffer.from('tab\there'))).toEqual(['tab\\x09here']);
  });
});

describe('buckets', () => {
  const rule = (alignment: 'aligned' | 'first-event') => compileRule({ name: alignment, port: 1, ttl: 3600, buckets: 4, matchex: 'x', bucket_alignment: alignment, prefix: 'p' }, 0);
  it('aligned: floor(now / length) * length', () => {
    const c = new BucketClock();
    expect(rule('aligned').bucketLength).toBe(900);
    expect([1000, 1799, 1800].map((t) => c.start(rule('aligned'), t))).toEqual([900, 900, 1800]);
  });
  it('first-event: a new bucket at the first event after the length elapsed', () => {
    const c = new BucketClock();
    const r = rule('first-event');
    expect([1000, 1899, 1900, 2500, 2801].map((t) => c.start(r, t))).toEqual([1000, 1000, 1900, 1900, 2801]);
  });
});

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
    expect(sent).toEqual([[0, 1, 'a=1 b=1'], [0, 1, 'a=1 b=1'], [0, 1, 'a=1 b=1'], [0, 2, 'a=1']]);
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
    expect(sent.filter(([g]) => g === 2)).toEqual([[2, 1, 'b=2'], [2, 1, 'b=2'], [2, 1, 'b=2'], [2, 3, 'b=1']]);
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
