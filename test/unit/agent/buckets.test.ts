import { describe, expect, it } from 'vitest';
import { BucketClock } from '../../../src/agent/buckets.js';
import { compileRule } from '../../../src/agent/rules.js';

describe('buckets', () => {
  const rule = (alignment: 'aligned' | 'first-event') =>
    compileRule({ name: alignment, port: 1, ttl: 3600, buckets: 4, matchex: 'x', bucket_alignment: alignment, prefix: 'p' }, 0);
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
