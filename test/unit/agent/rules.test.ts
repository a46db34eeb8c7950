import { describe, expect, it } from 'vitest';
import { AgentStats } from '../../../src/agent/stats.js';
import { Aggregator, type Pending, type WriteResult } from '../../../src/agent/aggregator.js';
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

describe('aggregator', () => {
  const setup = (writer: (b: Map<string, Pending>) => Promise<WriteResult>, maxKeys = 3) => {
    const stats = new AgentStats();
    return { stats, agg: new Aggregator(writer, stats, createLogger('silent', 't'), maxKeys, 1000) };
  };
  const ok: WriteResult = { refused: [], unwritten: [] };

  it('sums per key and writes one entry per key', async () => {
    const batches: [string, number][][] = [];
    const { agg, stats } = setup(async (b) => { batches.push([...b].map(([k, p]) => [k, p.n])); return ok; });
    for (const k of ['a', 'b', 'a', 'a']) agg.add(k, 60);
    await agg.flush();
    expect(batches).toEqual([[['a', 3], ['b', 1]]]);
    expect(stats.written).toBe(4);
  });

  it('holds counts when the write fails and writes them later, merged with new ones', async () => {
    let fail = true;
    const written: [string, number][] = [];
    const { agg, stats } = setup(async (b) => { if (fail) throw new Error('down'); written.push(...[...b].map(([k, p]) => [k, p.n] as [string, number])); return ok; });
    agg.add('a', 60);
    agg.add('b', 60);
    await agg.flush();
    expect(agg.pendingIncrements).toBe(2);
    agg.add('a', 60);
    fail = false;
    await agg.flush();
    expect(written.sort()).toEqual([['a', 2], ['b', 1]]);
    expect(stats.written).toBe(3);
    expect(stats.redis_errors).toBe(1);
  });

  it('beyond the distinct-key limit new keys are dropped and counted; held keys keep counting', async () => {
    const { agg, stats } = setup(async () => ok);
    for (const k of ['a', 'b', 'c', 'd', 'a', 'e']) agg.add(k, 60);
    expect(agg.pendingKeys).toBe(3);
    expect(agg.pendingIncrements).toBe(4);
    expect(stats.dropped_pending_full).toBe(2);
  });

  it('keys Redis refuses are counted as dropped, not retried', async () => {
    const { agg, stats } = setup(async () => ({ refused: ['b'], unwritten: [] }));
    agg.add('a', 60);
    agg.add('b', 60);
    agg.add('b', 60);
    await agg.flush();
    expect([stats.written, stats.dropped_wrongtype, agg.pendingIncrements]).toEqual([1, 2, 0]);
  });

  it('a partly failed write (one cluster slot away) holds only the keys that were not written', async () => {
    let down = true;
    const written: [string, number][] = [];
    const { agg, stats } = setup(async (b) => {
      const unwritten: string[] = down ? [...b.keys()].filter((k) => k === 'b') : [];
      for (const [k, p] of b) if (!unwritten.includes(k)) written.push([k, p.n]);
      return { refused: [], unwritten, ...(down ? { error: 'CLUSTERDOWN' } : {}) };
    });
    for (const k of ['a', 'b', 'b', 'c']) agg.add(k, 60);
    await agg.flush();
    expect([stats.written, agg.pendingIncrements, agg.pendingKeys, stats.redis_errors]).toEqual([2, 2, 1, 1]);
    down = false;
    agg.add('b', 60);
    await agg.flush();
    expect(written.sort()).toEqual([['a', 1], ['b', 3], ['c', 1]]);
    expect([stats.written, agg.pendingIncrements]).toEqual([5, 0]);
  });
});
