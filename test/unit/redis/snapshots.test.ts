import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../../src/query/partition.js';
import { KeySnapshots, ScanOutgrewAnswer, SNAPSHOT_MS, type SnapshotPage } from '../../../src/redis/snapshots.js';
import { valueAt } from '../../../src/redis/scan-values.js';
import type { KeyReader } from '../../../src/redis/reader.js';

/** A reader whose SCAN returns a fixed key list and counts how often it was asked. */
function listReader(keys: Buffer[]): KeyReader & { scans: number } {
  const s = {
    scans: 0,
    async scan() {
      s.scans++;
      return keys;
    },
  };
  return s as unknown as KeyReader & { scans: number };
}

const keys = Array.from({ length: 3000 }, (_, i) => Buffer.from(`w;m${i % 5};s${i % 3};${1700000000 + i}`));
const glob = Buffer.from('w;*');

describe('KeySnapshots', () => {
  it('gives every key to exactly one partition, the one its hash names', async () => {
    const snapshots = new KeySnapshots();
    const reader = listReader(keys);
    for (const n of [1, 2, 8, 64]) {
      const seen: string[] = [];
      for (let i = 0; i < n; i++) {
        for (const k of await snapshots.partition(reader, glob, 1e6, { index: i, count: n })) {
          expect(partitionOf(k, n)).toBe(i);
          seen.push(k.toString());
        }
      }
      expect(seen.sort()).toEqual(keys.map(String).sort());
    }
    expect(reader.scans).toBe(1);
  });

  it('scans again once the snapshot is older than SNAPSHOT_MS, and prune lets it go', async () => {
    let t = 1000;
    const snapshots = new KeySnapshots(SNAPSHOT_MS, 8, () => t);
    const reader = listReader(keys);
    await snapshots.partition(reader, glob, 1e6, { index: 0, count: 2 });
    t += SNAPSHOT_MS - 1;
    await snapshots.partition(reader, glob, 1e6, { index: 1, count: 2 });
    expect(reader.scans).toBe(1);
    t += 1;
    await snapshots.partition(reader, glob, 1e6, { index: 1, count: 2 });
    expect(reader.scans).toBe(2);
    t += SNAPSHOT_MS;
    snapshots.prune();
    expect(snapshots.size).toBe(0);
  });

  it('a whole listing always scans afresh, and the pages and counts after it reuse that scan', async () => {
    const snapshots = new KeySnapshots();
    const reader = listReader(keys);
    await snapshots.fresh(reader, glob, 1e6);
    await snapshots.fresh(reader, glob, 1e6);
    expect(reader.scans).toBe(2);
    const counts = await Promise.all([0, 1, 2, 3].map((index) => snapshots.count(reader, glob, 1e6, { index, count: 4 })));
    expect(counts.reduce((a, b) => a + b)).toBe(keys.length);
    expect((await snapshots.partition(reader, glob, 1e6, { index: 2, count: 4 })).length).toBe(counts[2]);
    expect(reader.scans).toBe(2);
  });

  it('a whole listing too large for one answer is refused from a held scan without another; one that fits scans afresh', async () => {
    let t = 1000;
    const snapshots = new KeySnapshots(SNAPSHOT_MS, 8, () => t);
    const reader = listReader(keys);
    await snapshots.fresh(reader, glob, 1e6);
    await expect(snapshots.fresh(reader, glob, 1e6, keys.length - 1)).rejects.toThrow(ScanOutgrewAnswer);
    expect(reader.scans).toBe(1);
    // As many keys as fit: listed afresh.
    expect((await snapshots.fresh(reader, glob, 1e6, keys.length)).length).toBe(keys.length);
    expect(reader.scans).toBe(2);
    // Once the snapshot has expired, a scan decides again.
    t += SNAPSHOT_MS;
    await snapshots.fresh(reader, glob, 1e6, keys.length - 1).catch(() => undefined);
    expect(reader.scans).toBe(3);
  });

  it('a small whole listing is not held (no pages follow it), so it never pushes out a big one', async () => {
    const snapshots = new KeySnapshots(SNAPSHOT_MS, 2);
    const big = listReader(keys);
    await snapshots.fresh(big, glob, 1e6);
    for (const g of ['a*', 'b*', 'c*']) await snapshots.fresh(listReader(keys.slice(0, 10)), Buffer.from(g), 1e6);
    await new Promise((r) => setTimeout(r, 0));
    expect(snapshots.size).toBe(1);
    await snapshots.count(big, glob, 1e6, { index: 0, count: 1 });
    expect(big.scans).toBe(1);
  });

  it('does not keep a failed scan', async () => {
    const snapshots = new KeySnapshots();
    let fail = true;
    const reader = {
      scan: async () => {
        if (fail) throw new Error('down');
        return keys;
      },
    } as unknown as KeyReader;
    await expect(snapshots.partition(reader, glob, 1e6, { index: 0, count: 1 })).rejects.toThrow('down');
    fail = false;
    expect((await snapshots.partition(reader, glob, 1e6, { index: 0, count: 1 })).length).toBe(keys.length);
  });

  it('holds at most maxSnapshots patterns', async () => {
    const snapshots = new KeySnapshots(SNAPSHOT_MS, 2);
    const reader = listReader(keys);
    for (const g of ['a*', 'b*', 'c*']) await snapshots.partition(reader, Buffer.from(g), 1e6, { index: 0, count: 1 });
    expect(snapshots.size).toBe(2);
  });
});

/**
 * A reader of `keys` whose SCAN finds them a thousand at a time, telling its progress as a real one does, and whose MGET
 * gives each key's value (null where `value` gives null) and counts the keys asked.
 */
function valueReader(value: (key: string) => string | null, fail = false) {
  const r = Object.assign(listReader(keys), {
    valuesRead: 0,
    async scan(_glob: Buffer, _max: number, _keep: unknown, progress?: (found: readonly Buffer[]) => void) {
      r.scans++;
      const found: Buffer[] = [];
      for (let i = 0; i < keys.length; i += 1000) {
        found.push(...keys.slice(i, i + 1000));
        progress?.(found);
        await Promise.resolve();
      }
      return found;
    },
    async mget(ks: readonly Buffer[]) {
      r.valuesRead += ks.length;
      if (fail) throw new Error('down');
      return ks.map((k) => {
        const v = value(k.toString());
        return v === null ? null : Buffer.from(v);
      });
    },
  });
  return r;
}

/** Each key's value in a page, as text (null for none). */
const pageValues = (page: SnapshotPage) => page.keys.map((k, i) => [k.toString(), page.values && (valueAt(page.values, i)?.toString() ?? null)]);
/** Every key's own value, by the test's rule: its number, or none for every seventh. */
const valueOf = (key: string) => (Number(key.split(';')[3]) % 7 === 0 ? null : `v${key.split(';')[3]}`);

describe('KeySnapshots: values read with the scan', () => {
  it("a listing of values refused for size reads its keys' values with the scan; its pages give them while young enough", async () => {
    let t = 1000;
    const snapshots = new KeySnapshots(SNAPSHOT_MS, 8, () => t);
    const reader = valueReader(valueOf);
    await expect(snapshots.fresh(reader, glob, 1e6, 100, true)).rejects.toThrow(ScanOutgrewAnswer);
    await snapshots.count(reader, glob, 1e6, { index: 0, count: 1 });
    expect(reader.valuesRead).toBe(keys.length);
    t += 4000;
    let listed = 0;
    for (let index = 0; index < 4; index++) {
      const page = await snapshots.page(reader, glob, 1e6, { index, count: 4 }, 4000);
      expect(page.ageMs).toBe(4000);
      expect(pageValues(page)).toEqual(page.keys.map((k) => [k.toString(), valueOf(k.toString())]));
      listed += page.keys.length;
    }
    expect(listed).toBe(keys.length);
    expect(reader.valuesRead).toBe(keys.length);
    // Older than the caller takes: the keys only, whose values the page reads itself.
    t += 1;
    const old = await snapshots.page(reader, glob, 1e6, { index: 0, count: 4 }, 4000);
    expect(old.values).toBeNull();
    expect(old.keys.length).toBeGreaterThan(0);
  });

  it('a page asked first scans with values; a listing that fits one answer, or of keys alone, reads none', async () => {
    const paged = valueReader(valueOf);
    const page = await new KeySnapshots().page(paged, glob, 1e6, { index: 1, count: 2 }, 1000);
    expect(pageValues(page)).toEqual(page.keys.map((k) => [k.toString(), valueOf(k.toString())]));
    const fits = valueReader(valueOf);
    const snapshots = new KeySnapshots();
    await snapshots.fresh(fits, glob, 1e6, keys.length, true);
    expect(fits.valuesRead).toBe(0);
    expect((await snapshots.page(fits, glob, 1e6, { index: 0, count: 1 }, 1000)).values).toBeNull();
    const keysOnly = valueReader(valueOf);
    const other = new KeySnapshots();
    await other.fresh(keysOnly, glob, 1e6, 100).catch(() => undefined);
    expect((await other.page(keysOnly, glob, 1e6, { index: 0, count: 1 }, 1000)).values).toBeNull();
    expect(keysOnly.valuesRead).toBe(0);
  });

  it('a failed value read leaves the snapshot its keys, and its pages read their values', async () => {
    const snapshots = new KeySnapshots();
    const reader = valueReader(valueOf, true);
    const page = await snapshots.page(reader, glob, 1e6, { index: 0, count: 1 }, 1000);
    expect(reader.valuesRead).toBe(keys.length);
    expect(page.keys.length).toBe(keys.length);
    expect(page.values).toBeNull();
  });
});
