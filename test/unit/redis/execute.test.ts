/**
 * executePlan over an in-memory KeyReader: what each operator reads and how its reply comes back (values,
 * nil, or an error as a value). The same plans run against a real Redis in the integration tests.
 */
import { describe, expect, it } from 'vitest';
import { planQuery, type RedisPlan } from '../../../src/query/operators.js';
import { executePlan, tupleRecords, type Reply, type UdpLimits } from '../../../src/redis/execute.js';
import { TooManyKeysError, readThenTtl, type KeyReader } from '../../../src/redis/reader.js';
import { KeySnapshots } from '../../../src/redis/snapshots.js';

type Value = string | string[] | Set<string> | Map<string, string>;
const B = (s: string) => Buffer.from(s, 'latin1');

/** A read-only keyspace in memory, with TTLs, answering as Redis does (wrong types throw WRONGTYPE). */
function memoryReader(data: Record<string, Value>, ttls: Record<string, number> = {}): KeyReader {
  const at = (k: Buffer) => data[k.toString('latin1')];
  const typed = <T>(k: Buffer, ok: (v: Value) => v is Value & T): T | undefined => {
    const v = at(k);
    if (v === undefined) return undefined;
    if (!ok(v)) throw new Error('WRONGTYPE Operation against a key holding the wrong kind of value');
    return v;
  };
  const str = (k: Buffer) => typed<string>(k, (v): v is string => typeof v === 'string');
  const list = (k: Buffer) => typed<string[]>(k, (v): v is string[] => Array.isArray(v));
  const set = (k: Buffer) => typed<Set<string>>(k, (v): v is Set<string> => v instanceof Set);
  const hash = (k: Buffer) => typed<Map<string, string>>(k, (v): v is Map<string, string> => v instanceof Map);
  /** A Redis glob (`*`, `?`, backslash escapes; no classes needed here) as a regex. */
  const matcher = (glob: Buffer) => {
    const literal = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    const parts = glob.toString('latin1').match(/\\.|[^\\]/g) ?? [];
    return new RegExp(`^${parts.map((p) => (p === '*' ? '[\\s\\S]*' : p === '?' ? '[\\s\\S]' : literal(p.length === 2 ? p[1]! : p))).join('')}$`);
  };
  const idx = (n: number, len: number) => (n < 0 ? len + n : n);
  return {
    get: async (k) => (str(k) === undefined ? null : B(str(k)!)),
    hget: async (k, f) => (hash(k)?.has(f.toString('latin1')) ? B(hash(k)!.get(f.toString('latin1'))!) : null),
    lindex: async (k, i) => {
      const l = list(k);
      const v = l?.[idx(i, l.length)];
      return v === undefined ? null : B(v);
    },
    hkeys: async (k) => [...(hash(k)?.keys() ?? [])].map(B),
    smembers: async (k) => [...(set(k) ?? [])].map(B),
    lrange: async (k, start, stop) => {
      const l = list(k) ?? [];
      return l.slice(idx(start, l.length), idx(stop, l.length) + 1).map(B);
    },
    hlen: async (k) => hash(k)?.size ?? 0,
    llen: async (k) => list(k)?.length ?? 0,
    scard: async (k) => set(k)?.size ?? 0,
    ttl: async (k) => (at(k) === undefined ? -2 : (ttls[k.toString('latin1')] ?? -1)),
    withTtl(read, k, ...args) {
      return readThenTtl(this, read, k, ...args);
    },
    type: async (k) => {
      const v = at(k);
      return v === undefined ? 'none' : typeof v === 'string' ? 'string' : Array.isArray(v) ? 'list' : v instanceof Set ? 'set' : 'hash';
    },
    hashText: async () => ({}),
    scan: async (glob, maxKeys) => {
      const re = matcher(glob);
      const keys = Object.keys(data)
        .filter((k) => re.test(k))
        .map(B);
      if (keys.length > maxKeys) throw new TooManyKeysError(`pattern matches more than MAX_KEYS (${maxKeys}) keys`);
      return keys;
    },
    mget: async (keys) => keys.map((k) => (typeof at(k) === 'string' ? B(at(k) as string) : null)),
  };
}

const data: Record<string, Value> = {
  'web;a;1': '5',
  'web;b;1': '7',
  'web;b;2': '1',
  'w.x;y': 'dotted',
  h: new Map([
    ['f', 'v'],
    ['g', 'w'],
  ]),
  l: ['one', 'two', 'three'],
  s: new Set(['m']),
  hashy: new Map([['k', 'v']]),
};

async function exec(name: string[], o: { maxKeys?: number; maxRecords?: number | null; reader?: KeyReader; udp?: UdpLimits } = {}): Promise<Reply> {
  const planned = planQuery(name.map(B), 'none');
  if ('error' in planned) throw new Error(planned.message);
  const src = {
    reader: o.reader ?? memoryReader(data, { 'web;a;1': 90 }),
    snapshots: new KeySnapshots(),
    maxKeys: o.maxKeys ?? 1000,
    maxRecords: o.maxRecords ?? null,
    ...(o.udp ? { udp: o.udp } : {}),
  };
  return executePlan(src, planned.plan as RedisPlan);
}

/** Records as text: strings of a record joined by '|', records sorted (SCAN order is not defined). */
const texts = (r: Reply) =>
  r.kind === 'values' || r.kind === 'tuples'
    ? recordsOf(r)
        .map((rec) => rec.map(String).join('|'))
        .sort()
    : r.kind;

/** A reply's records: as it holds them, or as a reply of tuples makes them. */
function recordsOf(r: Reply): Buffer[][] {
  if (r.kind === 'values') return r.records;
  if (r.kind === 'tuples') return tupleRecords(r);
  throw new Error(`no records: ${r.kind}`);
}

describe('executePlan', () => {
  const cases: { name: string; query: string[]; want: string[] | string; ttl?: number | null; o?: Parameters<typeof exec>[1] }[] = [
    { name: 'GET with its TTL', query: ['web;a;1', 'get'], want: ['5'], ttl: 90 },
    { name: 'GET of a key without expiry has no TTL', query: ['web;b;1', 'get'], want: ['7'], ttl: null },
    { name: 'GET of a missing key is nil', query: ['nope', 'get'], want: 'nil' },
    { name: 'GET of a hash is a Redis error', query: ['h', 'get'], want: 'error' },
    { name: 'HGET', query: ['g', 'h', 'hget'], want: ['w'] },
    { name: 'HGET of a missing field is nil', query: ['z', 'h', 'hget'], want: 'nil' },
    { name: 'HKEYS', query: ['h', 'hkeys'], want: ['f', 'g'] },
    { name: 'HLEN', query: ['h', 'hlen'], want: ['2'] },
    { name: 'LINDEX from the end', query: ['-1', 'l', 'lindex'], want: ['three'] },
    { name: 'LRANGE', query: ['1:2', 'l', 'lrange'], want: ['three', 'two'] },
    { name: 'LLEN', query: ['l', 'llen'], want: ['3'] },
    { name: 'SMEMBERS', query: ['s', 'smembers'], want: ['m'] },
    { name: 'SCARD', query: ['s', 'scard'], want: ['1'] },
    { name: 'KEYS with a glob', query: ['web;b;*', 'keys'], want: ['web;b;1', 'web;b;2'] },
    { name: 'KEYS matches dots literally', query: ['w.x*', 'keys'], want: ['w.x;y'] },
    { name: 'KLEN counts', query: ['web;*', 'klen'], want: ['3'] },
    { name: 'KPLEN counts a prefix taken literally', query: ['web;b', 'kplen'], want: ['2'] },
    { name: 'KEYS over MAX_KEYS is an error', query: ['web;*', 'keys'], o: { maxKeys: 2 }, want: 'error' },
    { name: 'a partitioned count over MAX_KEYS answers >MAX_KEYS', query: ['0of1', 'web;*', 'klen'], o: { maxKeys: 2 }, want: ['>2'] },
    { name: 'KEYS whose records cannot fit one answer is refused before reading values', query: ['web;*', 'keys'], o: { maxRecords: 2 }, want: 'error' },
    { name: 'SHARDS groups by captures', query: ['web;*;**', 'shards'], want: ['a', 'b'] },
    { name: 'SHGET: captures then every value of the group', query: ['web;*;**', 'shget'], want: ['a|5', 'b|7|1'] },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await exec(c.query, c.o);
      expect(texts(r)).toEqual(c.want);
      if (c.ttl !== undefined && r.kind === 'values') expect(r.ttl).toBe(c.ttl);
    });
  }

  it('errors come back as values naming their kind', async () => {
    expect(await exec(['web;*', 'keys'], { maxKeys: 2 })).toMatchObject({ kind: 'error', error: 'toomany' });
    expect(await exec(['web;*', 'keys'], { maxRecords: 2 })).toMatchObject({ kind: 'error', error: 'toolarge' });
    expect(await exec(['h', 'get'])).toMatchObject({ kind: 'error', error: 'redis', message: expect.stringMatching(/WRONGTYPE/) });
  });

  it('SHGET of a tuple per key pairs each value with its own key when some listed keys do not match', async () => {
    // A reader whose SCAN is looser than the pattern: 'web;other' is listed but has no second field to capture.
    const listed = ['web;a;1', 'web;other', 'web;b;2'];
    const values: Record<string, string> = { 'web;a;1': '5', 'web;other': 'x', 'web;b;2': '1' };
    const reader = {
      ...memoryReader(data, {}),
      scan: async () => listed.map(B),
      mget: async (keys: readonly Buffer[]) => keys.map((k) => B(values[k.toString('latin1')]!)),
    } as KeyReader;
    expect(texts(await exec(['web;*;*', 'shget'], { reader }))).toEqual(['a|1|5', 'b|2|1']);
    expect(texts(await exec(['0of1', 'web;*;*', 'shget'], { reader }))).toEqual(['a|1|5', 'b|2|1']);
  });

  describe('SHGET over UDP reads values only until the records overflow the largest UDP answer', () => {
    // 300 counters `t;<i>;<server>` whose records are ~20 bytes: a 1,200-byte answer overflows after ~60.
    const many: Record<string, Value> = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`t;${i};web${i % 3}`, String(i * 7)]));
    /** The memory reader over `values`, counting the keys MGET was asked for. */
    const counting = (values: Record<string, Value>) => {
      const inner = memoryReader(values, {});
      const r = { ...inner, asked: 0, mget: (keys: readonly Buffer[]) => ((r.asked += keys.length), inner.mget(keys)) };
      return r;
    };
    const udp = { payload: 1200, maxValue: 255 };
    const recordBytes = (rec: readonly Buffer[]) => 12 + rec.reduce((n, b) => n + 1 + b.length, 0);

    it('the records are the first of the whole listing, past the limit, from a fraction of the reads', async () => {
      const whole = await exec(['t;*;*', 'shget'], { reader: counting(many) });
      const reader = counting(many);
      const [r, all] = [recordsOf(await exec(['t;*;*', 'shget'], { reader, udp })), recordsOf(whole)];
      expect(r.length).toBeLessThan(all.length);
      expect(r.map(String)).toEqual(all.slice(0, r.length).map(String));
      const bytes = r.reduce((n, rec) => n + recordBytes(rec), 0);
      expect(bytes).toBeGreaterThan(udp.payload);
      // One MGET of as many keys as could fit at the smallest a record can be (13 bytes), and one more.
      expect(reader.asked).toBe(Math.ceil(udp.payload / 13) + 1);
    });

    it('reads on while the records read so far could still fit (listed keys the pattern does not match add none)', async () => {
      // Three of four listed keys have no second field: the first MGET's records fill a quarter of the answer.
      const listed = Object.keys(many).flatMap((k, i) => [k, `t;junkA${i}`, `t;junkB${i}`, `t;junkC${i}`]);
      const values: Record<string, string> = Object.fromEntries(listed.map((k, i) => [k, String(i)]));
      const reader = {
        ...memoryReader({}, {}),
        scan: async () => listed.map(B),
        mget: async (keys: readonly Buffer[]) => keys.map((k) => B(values[k.toString('latin1')]!)),
      } as KeyReader;
      const whole = await exec(['t;*;*', 'shget'], { reader });
      const [r, all] = [recordsOf(await exec(['t;*;*', 'shget'], { reader, udp })), recordsOf(whole)];
      expect(r.map(String)).toEqual(all.slice(0, r.length).map(String));
      expect(r.reduce((n, rec) => n + recordBytes(rec), 0)).toBeGreaterThan(udp.payload);
    });

    it('a listing of more records than one answer could hold is refused before any value is read, as over TCP', async () => {
      const reader = counting(many);
      expect(await exec(['t;*;*', 'shget'], { reader, udp, maxRecords: 100 })).toMatchObject({ kind: 'error', error: 'toolarge' });
      expect(await exec(['0of1', 't;*;*', 'shget'], { reader, udp, maxRecords: 100 })).toMatchObject({ kind: 'error', error: 'toolarge' });
      expect(reader.asked).toBe(0);
    });

    it('a page that fits is read whole, as over TCP', async () => {
      const few = Object.fromEntries(Object.entries(many).slice(0, 20));
      expect(texts(await exec(['t;*;*', 'shget'], { reader: counting(few), udp }))).toEqual(texts(await exec(['t;*;*', 'shget'], { reader: counting(few) })));
    });

    it('a missing value, or one over MAX_VALUE_PAYLOAD, reads the page as usual', async () => {
      const withHash: Record<string, Value> = { ...many, 't;0;web0': new Map([['f', 'v']]) };
      expect(await exec(['t;*;*', 'shget'], { reader: counting(withHash), udp })).toMatchObject({
        kind: 'error',
        error: 'redis',
        message: expect.stringMatching(/WRONGTYPE/),
      });
      const long: Record<string, Value> = { ...many, 't;1;web1': 'x'.repeat(300) };
      const r = await exec(['t;*;*', 'shget'], { reader: counting(long), udp });
      expect(texts(r)).toEqual(texts(await exec(['t;*;*', 'shget'], { reader: counting(long) })));
    });
  });

  it('SHGET over a key of another type names it (MGET alone answers nil for it)', async () => {
    const r = await exec(['hash*', 'shget']);
    expect(r).toMatchObject({ kind: 'error', error: 'redis', message: 'WRONGTYPE key hashy holds a hash' });
  });
});
