/**
 * `totalize exporter`: the totalizers named in config/totalize.yaml served as gauges on /metrics. Each scrape
 * totals every totalizer through DNS, with one lookup cache across scrapes that keeps each answer for its TTL:
 * Prometheus scraping every 15 s asks the DNS again only for what has expired, not for everything each time.
 * Concurrent scrapes share one round of totals.
 */
import { serveInstrumentsAt, type ExtraRoutes, type InstrumentsListener } from '../common/instruments.js';
import type { Logger } from '../common/log.js';
import { familiesTable, registryOf, type Family } from '../common/metrics.js';
import type { FieldSpec } from './matchspec.js';
import type { Lookups } from './lookup.js';
import { totalsFamilies, totalsFamilyRows, type TotalsEntry } from './prometheus.js';
import { buildSpec, DEFAULT_KEYPATTERN, parseWindow } from './spec.js';
import { DescriptionCache } from './described.js';
import { total, totalizerDescription, type TotalOptions } from './total.js';
import { timedRound } from './round-log.js';

export interface ExportedTotalizer {
  name: string;
  spec: FieldSpec[];
  breakNames: string[];
  options: Omit<TotalOptions, 'lookups' | 'now'>;
  /** What the config asked for, for totals of other windows and groupings (the dashboard's). */
  request: { prefix: string; tokens: string[]; keypattern?: string; by: string[]; where: string[]; delimiter: string };
}

export class ExporterConfigError extends Error {}

const ENTRY_FIELDS = ['name', 'prefix', 'window', 'by', 'where', 'fields', 'keypattern', 'delimiter', 'zone', 'sharded', 'trend'] as const;

const list = (v: unknown): string[] => (v === undefined || v === null ? [] : ([] as unknown[]).concat(v).map(String));

/** The `exporter.totalizers` list of config/totalize.yaml; `zone` is the file's (or the command line's) default. */
export function parseTotalizers(raw: unknown, zone: string | undefined, timeoutMs: number, section = 'exporter'): ExportedTotalizer[] {
  if (!Array.isArray(raw) || raw.length === 0)
    throw new ExporterConfigError(`${section}.totalizers must be a non-empty list of totalizers (prefix, window, and by, where or fields)`);
  const names = new Set<string>();
  return raw.map((item: unknown, i) => {
    const where = `${section}.totalizers[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw new ExporterConfigError(`${where} must be a mapping with at least a prefix`);
    const e = item as Record<string, unknown>;
    for (const k of Object.keys(e))
      if (!(ENTRY_FIELDS as readonly string[]).includes(k)) throw new ExporterConfigError(`${where}: unknown field '${k}' (known: ${ENTRY_FIELDS.join(', ')})`);
    if (typeof e.prefix !== 'string' || e.prefix === '') throw new ExporterConfigError(`${where}: prefix (the totalizer's first key field) is required`);
    const name = typeof e.name === 'string' ? e.name : e.prefix;
    if (names.has(name)) throw new ExporterConfigError(`${where}: a second totalizer named '${name}'; give one a distinct name`);
    names.add(name);
    const z = typeof e.zone === 'string' ? e.zone : zone;
    if (!z) throw new ExporterConfigError(`${where}: no zone: set zone here or at the top of the file`);
    const window = e.window ?? '3600';
    if (typeof window !== 'string' && typeof window !== 'number') throw new ExporterConfigError(`${where}: window must be seconds or 90s, 30m, 1h, 1d`);
    const delimiter = typeof e.delimiter === 'string' ? e.delimiter : ';';
    const { spec, breakNames } = buildSpec({
      prefix: e.prefix,
      tokens: list(e.fields),
      keypattern: typeof e.keypattern === 'string' ? e.keypattern : DEFAULT_KEYPATTERN,
      delimiter,
      by: list(e.by),
      where: list(e.where),
    });
    const request = {
      prefix: e.prefix,
      tokens: list(e.fields),
      ...(typeof e.keypattern === 'string' ? { keypattern: e.keypattern } : {}),
      by: list(e.by),
      where: list(e.where),
      delimiter,
    };
    return {
      name,
      spec,
      breakNames,
      request,
      options: { zone: z, window: parseWindow(String(window)), delimiter, sharded: e.sharded === true, trend: e.trend === true, timeoutMs },
    };
  });
}

/** The exporter's own families, beside the totals'. */
export const EXPORTER_FAMILIES = {
  totalizer_up: {
    name: 'totalizer_up',
    help: '1 when the last totals of the totalizer were fetched, 0 when they failed (its series are then absent)',
    type: 'gauge',
    labels: ['totalizer'],
  },
  totalizer_exporter_dns_queries_total: { name: 'totalizer_exporter_dns_queries_total', help: 'DNS queries sent', type: 'counter', labels: [] },
  totalizer_exporter_dns_cache_hits_total: {
    name: 'totalizer_exporter_dns_cache_hits_total',
    help: 'lookups answered from the cache (still within their TTL)',
    type: 'counter',
    labels: [],
  },
} as const;

/** The README's list of what the exporter serves: the totals' families and its own. */
export function exporterMetricsTable(): string {
  return familiesTable([...totalsFamilyRows(), ...Object.values(EXPORTER_FAMILIES)]);
}

export interface Exporter {
  listener: InstrumentsListener;
}

/** Serves the totalizers at `listen` (HOST:PORT); a failure to bind names --listen. */
export async function startExporter(
  listen: string,
  totalizers: readonly ExportedTotalizer[],
  lookups: Lookups,
  log: Logger,
  routes?: ExtraRoutes,
): Promise<Exporter> {
  let latest: TotalsEntry[] = [];
  const failures = new Map<string, string>();
  let round: Promise<void> | null = null;
  const descriptions = new DescriptionCache();
  const refresh = () =>
    (round ??= timedRound(log, `round of totals (${totalizers.map((t) => t.name).join(', ')})`, lookups, async () => {
      const results = await Promise.all(
        totalizers.map(async (t): Promise<TotalsEntry | null> => {
          try {
            const prefix = t.spec[0]?.kind === 'literal' ? t.spec[0].value : null;
            const description = prefix === null ? null : await descriptions.get(t.name, () => totalizerDescription(prefix, t.options, lookups));
            const result = await total(t.spec, { ...t.options, lookups, description });
            failures.delete(t.name);
            return { name: t.name, window: t.options.window, breakNames: t.breakNames, trend: !!t.options.trend, result };
          } catch (e) {
            if (failures.get(t.name) !== (e as Error).message) log.warn(`totalizer ${t.name}: ${(e as Error).message}`);
            failures.set(t.name, (e as Error).message);
            return null;
          }
        }),
      );
      latest = results.filter((r): r is TotalsEntry => r !== null);
    }).finally(() => (round = null)));
  const own: Family[] = [
    { ...EXPORTER_FAMILIES.totalizer_up, samples: () => totalizers.map((t) => ({ labels: { totalizer: t.name }, value: failures.has(t.name) ? 0 : 1 })) },
    { ...EXPORTER_FAMILIES.totalizer_exporter_dns_queries_total, samples: () => [{ value: lookups.queries }] },
    { ...EXPORTER_FAMILIES.totalizer_exporter_dns_cache_hits_total, samples: () => [{ value: lookups.hits }] },
  ];
  const registry = registryOf([...totalsFamilies(() => latest), ...own], true);
  // The first round starts with the listener, not before it: a page asked for at once shares its lookups rather
  // than finding them all answered already. Not ready until it has ended.
  let started = false;
  void refresh().finally(() => (started = true));
  const listener = await serveInstrumentsAt(
    listen,
    '--listen',
    {
      metrics: async () => {
        await refresh();
        return registry.metrics();
      },
      unready: () =>
        Promise.resolve([
          ...(started ? [] : ['the first round of totals is still running']),
          ...[...failures].map(([name, why]) => `totalizer ${name}: ${why}`),
        ]),
    },
    log,
    routes,
  );
  return { listener };
}
