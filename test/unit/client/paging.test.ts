/**
 * The paging walk against a simulated path: a server that pages listings (partitions by the same hash as
 * rkvdns) behind a resolver that refuses RRsets over a number of records, as BIND and PowerDNS Recursor do.
 */
import { describe, expect, it } from 'vitest';
import { fetchListing, partitionsFor, PAGE_KEYS, RESOLVER_PAGE_KEYS, smallerTarget, type ListingRequest } from '../../../src/client/listing.js';
import type { Lookup, Lookups } from '../../../src/client/lookup.js';
import { parsePartition, partitionOf } from '../../../src/query/partition.js';

interface Path {
  keys: string[];
  /** Records per RRset the path passes; more is SERVFAIL. */
  limit: number;
  viaResolver?: boolean;
  /** What the partitioned count answers instead of a number (e.g. '>100000'). */
  count?: string;
  /** Pages that fail whatever their size. */
  failing?: (label: string) => boolean;
  /** What the zone's SOA gets (default: an answer). */
  zone?: Lookup;
  /** The count gets no answer in any try (a server still scanning). */
  countTimesOut?: boolean;
}

/** A Lookups stand-in answering `keys` listings, pages and counts from `path.keys`; records the names asked. */
function simulated(path: Path): { lookups: Lookups; asked: string[]; countTries: (number | undefined)[] } {
  const asked: string[] = [];
  const countTries: (number | undefined)[] = [];
  const answer = (records: string[]): Lookup => {
    const ra = path.viaResolver ? { viaResolver: true } : {};
    return records.length > path.limit ? { kind: 'failed', reason: 'SERVFAIL', ...ra } : { kind: 'records', records: records.map((k) => [k]), ...ra };
  };
  const lookups = {
    timeoutMs: 2000,
    tries: 3,
    async zoneAnswer(): Promise<Lookup> {
      asked.push('SOA');
      return path.zone ?? { kind: 'records', records: [], ...(path.viaResolver ? { viaResolver: true } : {}) };
    },
    async txt(labels: Buffer[], _display: string, _tcp?: boolean, tries?: number): Promise<Lookup> {
      const [first, second, third] = labels.map((l) => l.toString('latin1'));
      asked.push(
        labels
          .slice(0, -2)
          .map((l) => l.toString('latin1'))
          .join('.'),
      );
      if (second === 'keys') return answer(path.keys);
      const part = parsePartition(Buffer.from(first!));
      if (typeof part === 'string') throw new Error(`unexpected query ${first}`);
      const inPart = path.keys.filter((k) => partitionOf(Buffer.from(k, 'latin1'), part.count) === part.index);
      if (third === 'klen') {
        countTries.push(tries);
        if (path.countTimesOut) return { kind: 'failed', reason: 'no answer from 127.0.0.1:53 in 2000 ms', timedOut: true };
        return { kind: 'records', records: [[path.count ?? String(inPart.length)]] };
      }
      if (path.failing?.(first!)) return { kind: 'failed', reason: 'SERVFAIL', viaResolver: !!path.viaResolver };
      return answer(inPart);
    },
  };
  return { lookups: lookups as unknown as Lookups, asked, countTries };
}

const request: ListingRequest = { op: 'keys', pattern: 'web;*', glob: 'web;*', zone: 'rkvdns.test', concurrency: 64 };
const keysOf = (n: number) => Array.from({ length: n }, (_, i) => `web;10.0.${i % 256}.${i};s${i % 3};${1_700_000_000 + i}`);
const listed = async (path: Path) => {
  const { lookups, asked } = simulated(path);
  const l = await fetchListing(lookups, request);
  return { keys: l.records.map((r) => r[0]!).sort(), asked };
};

describe('page sizes', () => {
  it('partitionsFor: a power of two, at least 2, pages averaging at most the target', () => {
    expect(partitionsFor(10_000, PAGE_KEYS)).toBe(16);
    expect(partitionsFor(10_000, RESOLVER_PAGE_KEYS)).toBe(128);
    expect(partitionsFor(150, PAGE_KEYS)).toBe(2);
    expect(partitionsFor(100_000_000, 1)).toBe(65536);
  });

  it('smallerTarget: straight to resolver-sized pages once a resolver refused a larger one; halving otherwise', () => {
    expect(smallerTarget(625, true)).toBe(RESOLVER_PAGE_KEYS);
    expect(smallerTarget(625, false)).toBe(312.5);
    expect(smallerTarget(78, true)).toBe(39);
  });
});

describe('a listing through a path that refuses large RRsets', () => {
  it('behind a 100-record limit (BIND): every key exactly once, one refused page, then pages under the limit', async () => {
    const keys = keysOf(10_000);
    const { keys: got, asked } = await listed({ keys, limit: 100, viaResolver: true });
    expect(got).toEqual([...keys].sort());
    // Whole listing, count, the first page at 16 partitions (refused), then 128 pages and a few halves.
    expect(asked.slice(0, 3)).toEqual(['web;*.keys', '0of1.web;*.klen', '0of16.web;*.keys']);
    expect(asked[3]).toBe('0of128.web;*.keys');
    expect(asked.length).toBeLessThan(3 + 128 + 12);
  });

  it('the count, which waits for a scan of every key, is asked with twice the tries of a lookup (3 here)', async () => {
    const { lookups, countTries } = simulated({ keys: keysOf(2000), limit: 1000, viaResolver: true });
    await fetchListing(lookups, request);
    expect(countTries).toEqual([6]);
  });

  it('rkvdns directly (no record limit that pages reach): 16 pages of about 625 keys, nothing refused', async () => {
    const keys = keysOf(10_000);
    const { keys: got, asked } = await listed({ keys, limit: 2000 });
    expect(got).toEqual([...keys].sort());
    expect(asked).toHaveLength(2 + 16);
  });

  it('a path refusing even small pages is halved down, not jumped, when no resolver is seen', async () => {
    const keys = keysOf(2000);
    const { keys: got, asked } = await listed({ keys, limit: 30 });
    expect(got).toEqual([...keys].sort());
    expect(asked.slice(2, 6)).toEqual(['0of4.web;*.keys', '0of8.web;*.keys', '0of16.web;*.keys', '0of32.web;*.keys']);
  });
});

describe('a listing that cannot be had is an error that says what was tried and why', () => {
  it('pages of any size refused: not the size, named as such, with every step tried', async () => {
    const err = await fetchListing(simulated({ keys: keysOf(500), limit: 0, viaResolver: true }).lookups, request).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^listing web;\*\.keys\.rkvdns\.test failed: SERVFAIL\n/);
    expect(msg).toMatch(
      /tried: the whole listing: SERVFAIL; the count 0of1\.web;\*\.klen\.rkvdns\.test: 500 keys; page 0of2 of about 250 keys: SERVFAIL; page 0of8 of about 63 keys: SERVFAIL/,
    );
    expect(msg).toMatch(/likely causes: pages of about [\d.]+ keys were refused too, so not for their size: rkvdns cannot read Redis/);
  });

  it('a pattern over MAX_KEYS: the count answers >MAX_KEYS and the error names the setting', async () => {
    const err = await fetchListing(simulated({ keys: keysOf(300), limit: 100, viaResolver: true, count: '>100000' }).lookups, request).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/the count 0of1\.web;\*\.klen\.rkvdns\.test: more than MAX_KEYS \(100000\)/);
    expect((err as Error).message).toMatch(/likely causes: the pattern matches more than the server's MAX_KEYS \(100000\) keys: raise MAX_KEYS/);
  });

  it('a count that times out (the server still scanning) ends the walk saying so, without splitting the glob', async () => {
    const { lookups, asked } = simulated({ keys: keysOf(3000), limit: 1000, viaResolver: true, countTimesOut: true });
    const err = await fetchListing(lookups, request).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      /tried: the whole listing: SERVFAIL; the count 0of1\.web;\*\.klen\.rkvdns\.test: no answer from 127\.0\.0\.1:53 in 2000 ms\n/,
    );
    expect((err as Error).message).toMatch(/likely causes: the count got no answer in 6 tries of 2000 ms while rkvdns scanned/);
    expect(asked).toEqual(['web;*.keys', '0of1.web;*.klen']);
  });

  it('pages failing here and there (not for size) stop the walk with the count of failures', async () => {
    const err = await fetchListing(
      simulated({ keys: keysOf(20_000), limit: 1000, failing: (p) => p !== '0of32' && Number(p.split('of')[0]) % 2 === 1 }).lookups,
      request,
    ).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/likely causes: \d+ pages failed while \d+ were answered, so not for their size/);
  });
});

describe('nothing answers', () => {
  it('the walk ends after half a timeout of silence and one unanswered SOA, not after the listing tries it all', async () => {
    const silence = (ms: number): Promise<Lookup> =>
      new Promise((resolve) => setTimeout(() => resolve({ kind: 'failed', reason: `no answer from 127.0.0.1:53 in ${ms} ms` }), ms));
    const asked: string[] = [];
    let listingAnswered = false;
    const lookups = {
      timeoutMs: 100,
      zoneAnswer: () => (asked.push('SOA'), silence(100)),
      // The listing's own tries would take 3 timeouts.
      txt: () => (asked.push('listing'), silence(300).finally(() => (listingAnswered = true))),
    } as unknown as Lookups;
    await expect(fetchListing(lookups, request)).rejects.toThrow(
      /failed: no answer from 127\.0\.0\.1:53 in 100 ms\n[^]*likely causes: nothing answered, not even the zone's SOA/,
    );
    // Ended on the SOA's silence, before the listing's tries were over.
    expect(listingAnswered).toBe(false);
    expect(asked).toEqual(['listing', 'SOA']);
  });
});
