/**
 * Metric families for /metrics, in the Prometheus text format through prom-client. The programs keep their own
 * counters (cheap on the hot path, and the same figures feed stats.<zone> and the stats log lines); a family
 * here reads them at scrape time. Under --workers each worker hands its families to the primary as JSON and
 * the primary adds them up with prom-client's aggregator, each family by its own rule (sums for counts, the
 * first for build info, none for per-process facts such as the start time).
 *
 * prom-client is loaded only when an endpoint is asked for: it adds about 65 ms to a start-up.
 */
import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';
import { VERSION } from './version.js';

export type FamilyType = 'counter' | 'gauge' | 'histogram';
export type Labels = Record<string, string>;

export interface Sample {
  value: number;
  labels?: Labels;
  /** For histograms: `<name>_bucket`, `<name>_sum`, `<name>_count`. */
  metricName?: string;
}

/** One family as it is exposed: name, help, type, how workers' values combine, and its samples at scrape time. */
export interface Family {
  name: string;
  help: string;
  type: FamilyType;
  aggregator?: Prom.Aggregator;
  samples: () => Sample[];
}

/** A family's values as they travel from a worker to the primary (prom-client's JSON form). */
export type FamilyValues = Awaited<ReturnType<Prom.Registry['getMetricsAsJSON']>>;

/** prom-client's default metrics left out (see registryOf). */
const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

let loaded: typeof Prom | undefined;
function promClient(): typeof Prom {
  loaded ??= createRequire(import.meta.url)('prom-client') as typeof Prom;
  return loaded;
}

/** A registry of the given families, and of node's process metrics (CPU, memory, event loop lag) when asked. */
export function registryOf(families: readonly Family[], processMetrics = false): Prom.Registry {
  const prom = promClient();
  const registry = new prom.Registry();
  for (const f of families) {
    // Labels always present: the workers' aggregator hashes them.
    const values = () => f.samples().map((v) => ({ ...v, labels: v.labels ?? {} }));
    const get = () => ({ name: f.name, help: f.help, type: f.type, aggregator: f.aggregator ?? 'sum', values: values() });
    // A family read at scrape time is what prom-client's own aggregated registries hold: an object with get().
    registry.registerMetric({ ...get(), get: () => Promise.resolve(get()) } as unknown as Prom.Metric);
  }
  if (processMetrics) {
    prom.collectDefaultMetrics({ register: registry });
    // Gauges whose names end in _total, which Prometheus's own linter (promtool check metrics) rightly refuses:
    // a _total series reads as a counter to every tool that follows the naming rules.
    for (const name of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }
  return registry;
}

/** The exposition text of workers' families added up, family by family. */
export function aggregateText(perWorker: readonly FamilyValues[]): Promise<string> {
  return promClient()
    .AggregatorRegistry.aggregate([...perWorker])
    .metrics();
}

/** Samples of a histogram from per-bucket counts (the last one beyond every bound), their sum and count. */
export function histogramSamples(name: string, bounds: readonly number[], counts: readonly number[], sum: number): Sample[] {
  const out: Sample[] = [];
  let cumulative = 0;
  bounds.forEach((le, i) => {
    cumulative += counts[i] ?? 0;
    out.push({ metricName: `${name}_bucket`, labels: { le: String(le) }, value: cumulative });
  });
  cumulative += counts[bounds.length] ?? 0;
  out.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: cumulative });
  out.push({ metricName: `${name}_sum`, value: sum }, { metricName: `${name}_count`, value: cumulative });
  return out;
}

/** The index of the histogram bucket a value falls in (bounds.length for beyond the last). */
export function bucketOf(bounds: readonly number[], v: number): number {
  let i = 0;
  while (i < bounds.length && v > bounds[i]!) i++;
  return i;
}

/** Label values that are valid Prometheus label names: `a-b.c` → `a_b_c`, a leading digit prefixed. */
export function labelName(text: string): string {
  const s = text.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(s) ? s : `_${s}`;
}

/** `<program>_build_info{version}` 1, the convention for telling builds apart in a fleet. */
export function buildInfo(program: string): Family & { labels: string[] } {
  return {
    name: `${program}_build_info`,
    help: 'always 1; the version in its label',
    type: 'gauge',
    aggregator: 'max',
    labels: ['version'],
    samples: () => [{ labels: { version: VERSION }, value: 1 }],
  };
}

/** A Markdown table of families (name, type, labels, meaning) for the README. */
export function familiesTable(rows: readonly { name: string; type: FamilyType; labels: readonly string[]; help: string }[]): string {
  return [
    '| metric | type | labels | meaning |',
    '|---|---|---|---|',
    ...rows.map((r) => `| \`${r.name}\` | ${r.type} | ${r.labels.map((l) => `\`${l}\``).join(', ')} | ${r.help} |`),
  ].join('\n');
}
