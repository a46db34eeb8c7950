/**
 * The request path for one parsed query: place the name in the zone, check the type, plan the
 * operation, run it on Redis (marshalled: identical operations share one lookup and one answer for 5 s),
 * render records, and turn the outcome into an encoded answer.
 */
import { QTYPE, RCODE_NAME } from '../dns/constants.js';
import { agedAnswer, cacheLifetime, labelsOf, type EncodedAnswer } from '../dns/message.js';
import type { Query } from '../dns/query.js';
import type { Transport } from '../dns/server.js';
import type { Logger } from '../common/log.js';
import { placeInZone, presentName } from '../query/name.js';
import { OPERATORS, isIntrospection, planQuery, type IntrospectPlan, type RedisPlan } from '../query/operators.js';
import { MIN_RECORD_BYTES, executePlan, type Reply } from '../redis/execute.js';
import type { KeySnapshots } from '../redis/snapshots.js';
import type { Store } from '../redis/store.js';
import type { Aging, Flights } from './flight.js';
import { answerFor, errorText, type Outcome } from './outcome.js';
import type { ControlOverlay, QuerySettings } from './overlay.js';
import { clampTtl, renderRecords } from './records.js';
import { SETTING_NAMES, presentSetting, type Settings } from './settings.js';
import type { ServerStats } from './stats.js';

export interface ResolverContext {
  store: Store;
  /** Key lists shared by the pages of a partitioned listing. */
  snapshots: KeySnapshots;
  log: Logger;
  /** Per-query lines (errors, dropped values), rate-limited. */
  queryLog: { info(msg: string): void; warn(msg: string): void };
  stats: ServerStats;
  flights: Flights<Resolution>;
  overlay: ControlOverlay;
  /** Current depths of internal queues, for queues.<zone> and stats.<zone>. */
  gauges(): Record<string, number>;
}

export interface Resolution {
  answer: EncodedAnswer;
  /** What happened, for counters and logs. */
  outcome: string;
}

/** A marshalled answer is shared no longer than its own TTL, with TTLs lowered as it ages. */
export const resolutionAging: Aging<Resolution> = {
  lifetimeMs: (r) => {
    const ttl = cacheLifetime(r.answer);
    return ttl === null ? null : ttl * 1000;
  },
  aged: (r, seconds) => ({ ...r, answer: agedAnswer(r.answer, seconds) }),
};

const zoneCache = new WeakMap<Settings, Buffer[]>();
function zoneLabels(s: Settings): Buffer[] {
  let z = zoneCache.get(s);
  if (!z) zoneCache.set(s, (z = labelsOf(s.ZONE)));
  return z;
}

const settingsIds = new WeakMap<Settings, number>();
let nextSettingsId = 0;
function settingsId(s: Settings): number {
  let id = settingsIds.get(s);
  if (id === undefined) settingsIds.set(s, (id = nextSettingsId++));
  return id;
}

function introspect(plan: IntrospectPlan, s: Settings, ctx: ResolverContext): Buffer[][] {
  let lines: string[];
  if (plan.op === 'config') lines = SETTING_NAMES.map((n) => `${n}:${presentSetting(s[n])}`);
  else if (plan.op === 'queues') lines = Object.entries(ctx.gauges()).map(([k, v]) => `${k}:${v}`);
  else lines = ctx.stats.lines(ctx.gauges());
  return lines.map((l) => [Buffer.from(l)]);
}

function recordsOutcome(q: Query, records: Buffer[][], ttl: number | null, answerType: number, s: Settings, client: string, log: ResolverContext['queryLog']): Outcome {
  const r = renderRecords(records, answerType, clampTtl(ttl, s), s);
  if (r.oversize > 0) log.info(`${presentName(q.labels)} from ${client}: ${r.oversize} value(s) over MAX_VALUE_PAYLOAD ${s.RETURN_PARTIAL_VALUE ? 'cut' : 'dropped'}`);
  if (r.unconvertible > 0) log.info(`${presentName(q.labels)} from ${client}: ${r.unconvertible} value(s) not convertible to ${answerType === QTYPE.A ? 'A' : 'AAAA'} left out`);
  return { kind: 'records', rrs: r.rrs };
}

async function lookup(plan: RedisPlan, qs: QuerySettings, ctx: ResolverContext): Promise<Reply> {
  if (qs.incrementing && plan.op === 'get' && plan.key.equals(qs.incrementing)) {
    return { kind: 'values', records: [[Buffer.from(String(ctx.overlay.increment(plan.key)))]], ttl: null };
  }
  const started = performance.now();
  const s = qs.settings;
  const maxRecords = s.RETURN_PARTIAL_TCP ? null : Math.floor(s.MAX_TCP_PAYLOAD / MIN_RECORD_BYTES);
  const reply = await executePlan({ store: ctx.store, snapshots: ctx.snapshots, maxKeys: s.MAX_KEYS, maxRecords }, plan);
  ctx.stats.redisLatency(performance.now() - started);
  return reply;
}

function finish(q: Query, o: Outcome, s: Settings, client: string, ctx: ResolverContext): Resolution {
  const answer = answerFor(o, s);
  if (o.kind === 'error') {
    const text = errorText(o.error, o.message);
    (o.error === 'redis' || o.error === 'toomany' ? ctx.queryLog.warn : ctx.queryLog.info)(`${presentName(q.labels)} from ${client}: ${text}`);
    return { answer, outcome: `error_${o.error}` };
  }
  return { answer, outcome: RCODE_NAME[answer.rcode]!.toLowerCase() };
}

/**
 * Resolves one query. Everything short of a Redis lookup is answered synchronously, a repeat inside its
 * flight included: only a query that must wait for Redis (or for the flight it joins) gets a promise.
 */
export function resolve(q: Query, qs: QuerySettings, transport: Transport, client: string, ctx: ResolverContext): Resolution | Promise<Resolution> {
  const s = qs.settings;
  const place = placeInZone(q.labels, zoneLabels(s));
  if (place.kind === 'outside') return finish(q, { kind: 'outside' }, s, client, ctx);
  if (place.kind === 'apex') return finish(q, { kind: 'apex', qtype: q.qtype }, s, client, ctx);
  const answerType = s.ALL_QUERIES_AS_TXT ? QTYPE.TXT : q.qtype;
  const classOk = q.qclass === 1 || q.qclass === 255;
  if (!classOk || (answerType !== QTYPE.TXT && answerType !== QTYPE.A && answerType !== QTYPE.AAAA)) {
    const last = place.labels[place.labels.length - 1]!.toString('latin1').toLowerCase();
    return finish(q, { kind: 'badtype', maybeOperator: place.labels.length > 1 || Object.hasOwn(OPERATORS, last) }, s, client, ctx);
  }
  const planned = planQuery(place.labels, s.CASE_FOLDING, s.PARTITIONED_LISTINGS);
  if ('error' in planned) return finish(q, { kind: 'error', error: planned.error, message: planned.message }, s, client, ctx);
  const plan = planned.plan;
  if (isIntrospection(plan)) return finish(q, recordsOutcome(q, introspect(plan, s, ctx), null, answerType, s, client, ctx.queryLog), s, client, ctx);
  const id = `${transport}\0${answerType}\0${settingsId(s)}\0${planned.id}`;
  return ctx.flights.run(
    id,
    async () => {
      const reply = await lookup(plan, qs, ctx);
      if (reply.kind === 'nil') return finish(q, { kind: 'nxdomain' }, s, client, ctx);
      if (reply.kind === 'error') return finish(q, { kind: 'error', error: reply.error, message: reply.message }, s, client, ctx);
      return finish(q, recordsOutcome(q, reply.records, reply.ttl, answerType, s, client, ctx.queryLog), s, client, ctx);
    },
    // A Redis failure is not replayed to later queries: they try Redis again.
    (r) => r.outcome !== 'error_redis',
  );
}

/** Outcome for an answer too large for TCP, decided after assembly. */
export function tooLarge(q: Query, s: Settings, client: string, ctx: ResolverContext): EncodedAnswer {
  ctx.queryLog.info(`${presentName(q.labels)} from ${client}: ${errorText('toolarge', '')} (MAX_TCP_PAYLOAD ${s.MAX_TCP_PAYLOAD})`);
  return answerFor({ kind: 'error', error: 'toolarge', message: '' }, s);
}
