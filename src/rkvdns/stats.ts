/** Request counters (declared in counters.ts), plus a rolling sample of Redis latencies for percentiles. */
import type { Counter, Gauge } from './counters.js';

export type Gauges = Partial<Record<Gauge, number>>;

export class ServerStats {
  readonly counts = new Map<Counter, number>();
  private latencies: number[] = [];
  private next = 0;

  constructor(private readonly sampleSize = 1024) {}

  count(what: Counter, n = 1): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + n);
  }

  redisLatency(ms: number): void {
    if (this.latencies.length < this.sampleSize) this.latencies.push(ms);
    else this.latencies[this.next++ % this.sampleSize] = ms;
  }

  percentile(p: number): number | null {
    if (this.latencies.length === 0) return null;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  }

  /** `name:value` lines, the form used in logs and in the stats.<zone> TXT records: counters seen so far, then gauges. */
  lines(gauges: Gauges): string[] {
    const out = [...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}:${v}`);
    const p50 = this.percentile(50);
    const p99 = this.percentile(99);
    if (p50 !== null) out.push(`redis_p50_ms:${p50.toFixed(2)}`, `redis_p99_ms:${p99!.toFixed(2)}`);
    for (const [k, v] of Object.entries(gauges)) out.push(`${k}:${v}`);
    return out;
  }
}
