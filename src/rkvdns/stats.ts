/**
 * Request counters (declared in counters.ts), plus Redis read times: a rolling sample for the percentiles in
 * stats.<zone>, and running histogram counts for /metrics.
 */
import { bucketOf } from '../common/metrics.js';
import { REDIS_SECONDS_BOUNDS, type Counter, type Gauge } from './counters.js';

export type Gauges = Partial<Record<Gauge, number>>;

export class ServerStats {
  private readonly counts = new Map<Counter, number>();
  private readonly sources: (() => void)[] = [];
  private latencies: number[] = [];
  private next = 0;
  /** Reads per REDIS_SECONDS_BOUNDS bucket (the last beyond every bound), and their total time. */
  readonly redisBuckets: number[] = new Array<number>(REDIS_SECONDS_BOUNDS.length + 1).fill(0);
  redisSeconds = 0;

  constructor(private readonly sampleSize = 1024) {}

  count(what: Counter, n = 1): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + n);
  }

  /** Counts kept elsewhere (the UDP addon's repeats): `pull` adds them in, and runs before every read. */
  countsFrom(pull: () => void): void {
    this.sources.push(pull);
  }

  /** Adds in what was counted elsewhere; gauges that such counts also move call it before they are read. */
  sync(): void {
    for (const pull of this.sources) pull();
  }

  get(what: Counter): number {
    this.sync();
    return this.counts.get(what) ?? 0;
  }

  redisLatency(ms: number): void {
    this.redisBuckets[bucketOf(REDIS_SECONDS_BOUNDS, ms / 1000)]!++;
    this.redisSeconds += ms / 1000;
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
    this.sync();
    const out = [...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}:${v}`);
    const p50 = this.percentile(50);
    const p99 = this.percentile(99);
    if (p50 !== null) out.push(`redis_p50_ms:${p50.toFixed(2)}`, `redis_p99_ms:${p99!.toFixed(2)}`);
    for (const [k, v] of Object.entries(gauges)) out.push(`${k}:${v}`);
    return out;
  }
}
