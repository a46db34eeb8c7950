import { describe, expect, it } from 'vitest';
import type { KeyReader } from '../../../src/redis/reader.js';
import { ValueReads, ValuesTooLarge, valueAt, type ValueRun } from '../../../src/redis/scan-values.js';
import { valueRunOf } from '../../helpers/value-run.js';

const B = (s: string) => Buffer.from(s);
const texts = (run: ValueRun, n: number) => Array.from({ length: n }, (_, i) => valueAt(run, i)?.toString() ?? null);
/** 3,000 values, every fifth none and every seventh empty, some of 300 bytes: more values and bytes than a run starts with. */
const given = Array.from({ length: 3000 }, (_, i) => (i % 5 === 0 ? null : i % 7 === 0 ? '' : `${i}`.padEnd(i % 3 === 0 ? 300 : 2, 'x')));

describe('ValueReads', () => {
  it('packs values, nils and empty strings, growing past its first size, each read back as given', () => {
    expect(texts(valueRunOf(given.map((v) => (v === null ? null : B(v)))), given.length)).toEqual(given);
  });

  it("reads keys' values at their numbers, through mgetInto's bytes or mget's Buffers alike", async () => {
    const value = (k: Buffer) => given[Number(k.toString())];
    const keys = given.map((_, i) => B(String(i)));
    const into = {
      mget: () => Promise.reject(new Error('not this one')),
      mgetInto: async (ks: readonly Buffer[], sink: (i: number, b: Buffer | null, from: number, to: number) => void) => {
        // Each value inside a larger reply, as the parser sees it.
        ks.forEach((k, i) => {
          const v = value(k);
          if (v === null || v === undefined) return sink(i, null, 0, 0);
          const reply = B(`$${v.length}\r\n${v}\r\n`);
          sink(i, reply, reply.length - 2 - v.length, reply.length - 2);
        });
      },
    } as Pick<KeyReader, 'mget' | 'mgetInto'>;
    const buffers = { mget: async (ks: readonly Buffer[]) => ks.map((k) => (value(k) === null ? null : B(value(k)!))) } as Pick<KeyReader, 'mget'>;
    for (const reader of [into, buffers]) {
      const reads = new ValueReads(reader, 16);
      // Two reads, the second first: each lands at its own numbers.
      await Promise.all([reads.read(keys.slice(1000), 1000), reads.read(keys.slice(0, 1000), 0)]);
      expect(texts(reads.run, keys.length)).toEqual(given);
    }
  });

  it('refuses values past its byte limit, and a failed read fails', async () => {
    const reader = { mget: async (ks: readonly Buffer[]) => ks.map(() => B('12345')) } as Pick<KeyReader, 'mget'>;
    await expect(new ValueReads(reader, 4, 19).read([B('a'), B('b'), B('c'), B('d')], 0)).rejects.toThrow(ValuesTooLarge);
    await new ValueReads(reader, 4, 20).read([B('a'), B('b'), B('c'), B('d')], 0);
    const down = { mget: () => Promise.reject(new Error('down')) } as Pick<KeyReader, 'mget'>;
    await expect(new ValueReads(down).read([B('a')], 0)).rejects.toThrow('down');
  });
});
