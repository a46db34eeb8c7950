/**
 * The dashboard's JSON API: `/api/totalizers` (what is served) and `/api/totals/<name>` (the totals of one, as
 * `totalize --format json` prints them, plus each group's series over the window, the whole total's series and a
 * per-source split), or the same series as Graphite's render API gives them (`format=graphite`). Requests are
 * checked and bounded before any DNS query: a malformed one is a 400 saying why, one beyond the limits a 413.
 */
import type { Description } from '../../common/description.js';
import { DescriptionCache } from '../described.js';
import type { ExportedTotalizer } from '../exporter.js';
import type { Lookups } from '../lookup.js';
import { SpecError } from '../matchspec.js';
import { planTotal, type Plan, type PlanRequest } from '../plan.js';
import { jsonOf } from '../render.js';
import { fieldNames, parseWindow } from '../spec.js';
import { total, totalizerDescription, type TotalOptions, type TotalResult } from '../total.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const LIMITS = {
  /** The longest window a request may ask for (and never longer than the totalizer keeps its buckets). */
  maxWindowSeconds: 31 * 86400,
  /** Groups per answer. */
  maxTop: 200,
  defaultTop: 10,
  /** Points per series. */
  maxPoints: 120,
  /** Filters per request. */
  maxWhere: 8,
};

const PARAMETERS = ['window', 'by', 'where', 'top', 'format'] as const;

export interface TotalsRequest {
  window: number;
  by?: string[];
  where: string[];
  top: number;
  format: 'json' | 'graphite';
}

/** The query string of `/api/totals/<name>`, checked; `t`'s configured window, grouping and filters by default. */
export function parseTotalsQuery(q: URLSearchParams, t: ExportedTotalizer): TotalsRequest {
  for (const k of q.keys())
    if (!(PARAMETERS as readonly string[]).includes(k)) throw new ApiError(400, `unknown parameter '${k}' (known: ${PARAMETERS.join(', ')})`);
  let window = t.options.window;
  const w = q.get('window');
  if (w !== null) {
    try {
      window = parseWindow(w);
    } catch (e) {
      throw new ApiError(400, (e as Error).message.replace('--window', 'window'));
    }
  }
  if (window > LIMITS.maxWindowSeconds) throw new ApiError(413, `window ${w} is longer than the ${LIMITS.maxWindowSeconds / 86400} days a request may ask for`);
  const by = q.get('by');
  const byFields = by === null ? (t.request.by.length ? t.request.by : undefined) : by.split(',').filter(Boolean);
  if (byFields && byFields.some((f) => !/^[A-Za-z_]\w*$/.test(f))) throw new ApiError(400, `by '${by}' is not a comma-separated list of field names`);
  const where = q.getAll('where');
  if (where.length > LIMITS.maxWhere) throw new ApiError(413, `${where.length} where filters; at most ${LIMITS.maxWhere}`);
  for (const f of where) if (!/^[A-Za-z_]\w*=./.test(f)) throw new ApiError(400, `where '${f}' is not FIELD=VALUE`);
  const topText = q.get('top');
  if (topText !== null && !/^[1-9]\d{0,8}$/.test(topText)) throw new ApiError(400, `top '${topText}' is not a positive integer`);
  const top = topText === null ? LIMITS.defaultTop : Number(topText);
  if (top > LIMITS.maxTop) throw new ApiError(413, `top ${top}: at most ${LIMITS.maxTop} groups per request`);
  const format = q.get('format') ?? 'json';
  if (format !== 'json' && format !== 'graphite') throw new ApiError(400, `format '${format}' is not json or graphite`);
  return { window, ...(byFields ? { by: byFields } : {}), where: [...t.request.where, ...where], top, format };
}

/** What the dashboard lists: each totalizer with its measure and what it can be grouped by. */
export async function totalizersList(totalizers: readonly ExportedTotalizer[], descriptions: DescriptionCache, lookups: Lookups) {
  return Promise.all(
    totalizers.map(async (t) => {
      const d = await describedOf(t, descriptions, lookups).catch(() => null);
      const keypattern = t.request.keypattern ?? d?.keypattern;
      let fields: string[] = [];
      try {
        fields = keypattern ? fieldNames(keypattern, t.request.delimiter).slice(1) : ['matched', 'source'];
      } catch {
        // A key pattern this reader cannot use: grouping stays the configured one.
      }
      return {
        name: t.name,
        prefix: t.request.prefix,
        zone: t.options.zone,
        window: t.options.window,
        measure: d?.measure ?? 'count',
        by: t.request.by.length ? t.request.by : ['matched'],
        groupings: [...fields, ...(d?.columns ?? []).filter((c) => !fields.includes(c))],
        ...(d ? { bucketSeconds: d.bucket, keepSeconds: d.ttl } : {}),
      };
    }),
  );
}

const describedOf = (t: ExportedTotalizer, descriptions: DescriptionCache, lookups: Lookups): Promise<Description | null> =>
  descriptions.get(t.name, () => totalizerDescription(t.request.prefix, t.options, lookups));

/** Points over the window: a bucket's length apart where the description gives it, else 24 over the window. */
function pointsOf(window: number, d: Description | null): number {
  const per = d ? Math.round(window / d.bucket) : 24;
  return Math.min(LIMITS.maxPoints, Math.max(12, per));
}

/** The whole total's series: every group's added (counts, sums), or their extreme. */
function totalSeries(r: TotalResult, points: number): number[] {
  const out = new Array<number>(points).fill(r.measure === 'count' || r.measure === 'sum' ? 0 : NaN);
  for (const g of r.groups)
    g.spark?.forEach((v, i) => {
      if (r.measure === 'count' || r.measure === 'sum') out[i]! += v;
      else if (v !== 0) out[i] = Number.isNaN(out[i]!) ? v : r.measure === 'max' ? Math.max(out[i]!, v) : Math.min(out[i]!, v);
    });
  return out.map((v) => (Number.isNaN(v) ? 0 : Math.round(v * 100) / 100));
}

export interface TotalsContext {
  lookups: Lookups;
  descriptions: DescriptionCache;
  now?: () => number;
}

/** What a request's totals are before they are cut to its top and put in its format: shared by such requests. */
export interface Computed {
  result: TotalResult;
  render: Plan['render'];
  sources: Map<string, Record<string, number>> | null;
  points: number;
  now: number;
  window: number;
}

/** The part of a request that decides what is computed (not its top, not its format). */
export const computedKey = (name: string, q: TotalsRequest) => JSON.stringify([name, q.window, q.by ?? null, q.where]);

/** Totals of `t` for request `q`: whatever stops a total (the DNS path, the keys it lists) is a 502 in totalize's words. */
export async function computeTotals(t: ExportedTotalizer, q: TotalsRequest, ctx: TotalsContext): Promise<Computed> {
  const d = await describedOf(t, ctx.descriptions, ctx.lookups);
  if (d && q.window > d.ttl) throw new ApiError(413, `window ${q.window} s is longer than ${t.name} keeps its buckets (${d.ttl} s)`);
  const points = pointsOf(q.window, d);
  const base: PlanRequest = {
    prefix: t.request.prefix,
    tokens: t.request.tokens,
    ...(t.request.keypattern ? { keypattern: t.request.keypattern } : {}),
    ...(q.by ? { by: q.by } : {}),
    where: q.where,
    delimiter: t.request.delimiter,
    trend: true,
    sparkBins: points,
  };
  let plan;
  try {
    plan = planTotal(base, d);
  } catch (e) {
    if (e instanceof SpecError) throw new ApiError(400, e.message.replace(/--(by|where|keypattern)/g, '$1'));
    throw e;
  }
  const now = ctx.now?.() ?? Date.now() / 1000;
  const options = { ...t.options, ...plan.options, window: q.window, lookups: ctx.lookups, now };
  const result = await total(plan.spec, options).catch((e: Error) => {
    throw new ApiError(502, e.message);
  });
  const sources = await sourcesOf(t, base, d, options, q.by).catch(() => null);
  return { result, render: plan.render, sources, points, now, window: q.window };
}

/** The answer to request `q` from what was computed for it: its top groups, in its format. */
export function renderTotals(t: ExportedTotalizer, q: TotalsRequest, c: Computed): object {
  const { result: r, points, now } = c;
  const step = c.window / points;
  const from = now - c.window;
  if (q.format === 'graphite') {
    const datapoints = (values: number[]) => values.map((v, i) => [Math.round(v * 100) / 100, Math.round(from + i * step)]);
    return [
      ...r.groups.slice(0, q.top).map((g) => ({ target: `${t.name}.${g.group}`, datapoints: datapoints(g.spark ?? []) })),
      { target: `${t.name}.total`, datapoints: datapoints(totalSeries(r, points)) },
    ];
  }
  const json = jsonOf(r, { ...c.render, top: q.top }, { name: t.name, prefix: t.request.prefix, window: c.window, zones: r.diagnostics.zones });
  return {
    ...json,
    groups: json.groups.map((g) => (c.sources ? { ...g, sources: c.sources.get(g.group) ?? {} } : g)),
    series: { from: Math.round(from), step, points, total: totalSeries(r, points) },
    refreshAfterSeconds: Math.max(5, r.freshness.atMostSeconds ?? 30),
    asOf: Math.round(now),
  };
}

/**
 * Per group, its value from each source: the same total grouped by source too (answered from the lookups the
 * first one made). Null where the key pattern has no source or the grouping already is by source.
 */
async function sourcesOf(
  t: ExportedTotalizer,
  base: PlanRequest,
  d: Description | null,
  options: TotalOptions,
  by: string[] | undefined,
): Promise<Map<string, Record<string, number>> | null> {
  const grouped = by ?? ['matched'];
  if (t.request.tokens.length > 0 || grouped.includes('source')) return null;
  const plan = planTotal({ ...base, by: [...grouped, 'source'], trend: false }, d);
  const at = plan.breakNames.indexOf('source');
  if (at < 0) return null;
  const r = await total(plan.spec, { ...options, ...plan.options, regroup: plan.options.regroup, sparkBins: undefined, trend: false });
  const out = new Map<string, Record<string, number>>();
  for (const g of r.groups) {
    const key = g.fields.filter((_, i) => i !== at).join(t.request.delimiter);
    const per = out.get(key) ?? {};
    per[g.fields[at]!] = g.value;
    out.set(key, per);
  }
  return out;
}
