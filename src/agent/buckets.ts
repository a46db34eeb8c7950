/**
 * Bucket start times. Aligned (default): floor(now / len) * len, so every agent, source and restart shares
 * boundaries. First-event (upstream): a new bucket starts at the first event after the current one's length
 * has elapsed, per rule and per process.
 */
import type { Rule } from './rules.js';

export class BucketClock {
  private firstEventStart = new Map<string, number>();

  start(rule: Rule, nowSec: number): number {
    const len = rule.bucketLength;
    if (rule.alignment === 'aligned') return Math.floor(nowSec / len) * len;
    const cur = this.firstEventStart.get(rule.name);
    if (cur !== undefined && nowSec - cur < len) return cur;
    this.firstEventStart.set(rule.name, nowSec);
    return nowSec;
  }
}
