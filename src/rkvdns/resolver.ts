/**
 * The last link of the chain: place the name in the zone, check the type, plan the operation, read Redis
 * (marshalled: identical operations share one read and one answer for 5 s), render records, and turn the
 * outcome into an encoded answer.
 */
import { clientText, type ClientAddress } from '../dns/client-address.js';
import { QTYPE, RCODE, RCODE_NAME, type Rcode } from '../dns/constants.js';
import { agedAnswer, cacheLifetime, labelsOf, type EncodedAnswer } from '../dns/message.js';
import type { Query } from '../dns/query.js';
import type { LogFn, Logger } from '../common/log.js';
import { placeInZone, presentName } from '../query/name.js';
import { OPERATORS, isIntrospection, planQuery, type IntrospectPlan, type RedisPlan } from '../query/operators.js';
import { MIN_RECORD_BYTES, executePlan, tupleRecords, type KeySource, type Reply } from '../redis/execute.js';
import type { KeySnapshots } from '../redis/snapshots.js';
import type { Next, QueryContext, Resolution } from './chain.js';
import type { Counter } from './counters.js';
import type { Aging, Flights } from './flight.js';
import { answerFor, errorText, type Outcome } from './outcome.js';
import { clampTtl, renderRecords, renderTupleTxt } from './records.js';
import { configLines } from './introspection.js';
import type { Settings } from './settings.js';
import type { Gauges, ServerStats } from './stats.js';

export interface ResolverContext {
  /** Key lists shared by the pages of a partitioned listing. */
  snapshots: KeySnapshots;
  log: Logger;
  /** Per-query lines (errors, dropped values), rate-limited. */
  queryLog: { info: LogFn; warn: LogFn };
  stats: ServerStats;
  flights: Flights<Resolution>;
  /** Current depths of internal queues, for queues.<zone> and stats.<zone>. */
  gauges(): Gauges;
  /** Whether this client may read the introspection names (INTROSPECTION). */
  introspectionAllowed(client: ClientAddress): boolean;
}

const INTROSPECTION_REFUSED: Resolution = { answer: { rcode: RCODE.REFUSED, answers: [], authority: [] }, outcome: 'refused_introspection' };

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

const RCODE_COUNTER = { 0: 'noerror', 1: 'formerr', 2: 'servfail', 3: 'nxdomain', 4: 'notimp', 5: 'refused' } as const satisfies Record<Rcode, Counter>;

function introspect(plan: IntrospectPlan, s: Settings, ctx: ResolverContext): Buffer[][] {
  let lines: string[];
  if (plan.op === 'config') lines = configLines(s);
  else if (plan.op === 'queues') lines = Object.entries(ctx.gauges()).map(([k, v]) => `${k}:${v}`);
  else lines = ctx.stats.lines(ctx.gauges());
  return lines.map((l) => [Buffer.from(l)]);
}

/** The records as an outcome; values left out on the way are logged with the query they belong to. */
function recordsOutcome(
  qc: QueryContext,
  records: Buffer[][],
  ttl: number | null,
  answerType: number,
  log: ResolverContext['queryLog'],
  distinct = false,
): Outcome {
  const s = qc.settings;
  const r = renderRecords(records, answerType, clampTtl(ttl, s), s, distinct);
  if (r.oversize > 0 || r.unconvertible > 0) {
    const query = presentName(qc.query.labels);
    const client = clientText(qc.client);
    const fields = { query, client };
    if (r.oversize > 0)
      log.info(`${query} from ${client}: ${r.oversize} value(s) over MAX_VALUE_PAYLOAD ${s.RETURN_PARTIAL_VALUE ? 'cut' : 'dropped'}`, {
        ...fields,
        cause: 'oversize',
      });
    if (r.unconvertible > 0)
      log.info(`${query} from ${client}: ${r.unconvertible} value(s) not convertible to ${answerType === QTYPE.A ? 'A' : 'AAAA'} left out`, {
        ...fields,
        cause: 'unconvertible',
      });
  }
  return { kind: 'records', rrs: r.rrs };
}

/**
 * Reads Redis for the plan and turns the reply into the answer, timing the read: one promise chain step for
 * both, since every query that reads Redis comes through here.
 */
function readRedis(plan: RedisPlan, qc: QueryContext, answerType: number, ctx: ResolverContext): Promise<Resolution> {
  const started = performance.now();
  const s = qc.settings;
  const maxRecords = s.RETURN_PARTIAL_TCP ? null : Math.floor(s.MAX_TCP_PAYLOAD / MIN_RECORD_BYTES);
  // Values read with a scan serve a page while its TTL, shortened by their age, is still at least MIN_TTL.
  const src: KeySource = { reader: qc.reader, snapshots: ctx.snapshots, maxKeys: s.MAX_KEYS, maxRecords, valuesMaxAgeS: clampTtl(null, s) - s.MIN_TTL };
  // A shget's UDP answer never holds more than the larger of 512 bytes and MAX_UDP_PAYLOAD: what lies beyond is not
  // read. (Set for that read only: every GET comes through here.)
  if (plan.op === 'shget' && qc.transport === 'udp' && answerType === QTYPE.TXT)
    src.udp = { payload: Math.max(512, s.MAX_UDP_PAYLOAD), maxValue: s.MAX_VALUE_PAYLOAD };
  return executePlan(src, plan).then((reply) => {
    ctx.stats.redisLatency(performance.now() - started);
    return replyResolution(qc, reply, answerType, ctx);
  });
}

/** A Redis failure is not replayed to later queries: they try Redis again. */
const keepUnlessRedisFailed = (r: Resolution) => r.outcome !== 'error_redis';

/**
 * A reply's TTL: its key's, or DEFAULT_TTL, clamped; less the age of values read earlier (with the scan), which are
 * read with at least MIN_TTL left (KeySource.valuesMaxAgeS).
 */
const answerTtl = (ttl: number | null, ageS: number | undefined, s: Settings): number => clampTtl(ttl, s) - (ageS ?? 0);

/** The answer to a reply from Redis. */
function replyResolution(qc: QueryContext, reply: Reply, answerType: number, ctx: ResolverContext): Resolution {
  if (reply.kind === 'nil') return finish(qc, { kind: 'nxdomain' }, ctx);
  if (reply.kind === 'error') return finish(qc, { kind: 'error', error: reply.error, message: reply.message }, ctx);
  if (reply.kind === 'tuples') {
    // Written straight from the keys as TXT; as records (as other replies are) where a value is too long or the answer is A/AAAA.
    const ttl = answerTtl(null, reply.ageS, qc.settings);
    const written = answerType === QTYPE.TXT ? renderTupleTxt(reply.keys, reply.values, reply.pattern, ttl, qc.settings) : null;
    if (written) return finish(qc, { kind: 'records', rrs: written.rrs }, ctx);
    return finish(qc, recordsOutcome(qc, tupleRecords(reply), ttl, answerType, ctx.queryLog, true), ctx);
  }
  const ttl = answerTtl(reply.ttl, reply.ageS, qc.settings);
  return finish(qc, recordsOutcome(qc, reply.records, ttl, answerType, ctx.queryLog, reply.distinct), ctx);
}

function finish(qc: QueryContext, o: Outcome, ctx: ResolverContext): Resolution {
  const answer = answerFor(o, qc.settings);
  if (o.kind === 'error') {
    const text = errorText(o.error, o.message);
    const query = presentName(qc.query.labels);
    const client = clientText(qc.client);
    (o.error === 'redis' || o.error === 'toomany' ? ctx.queryLog.warn : ctx.queryLog.info)(`${query} from ${client}: ${text}`, {
      query,
      client,
      rcode: RCODE_NAME[answer.rcode] ?? String(answer.rcode),
      cause: o.error,
    });
    return { answer, outcome: `error_${o.error}` };
  }
  return { answer, outcome: RCODE_COUNTER[answer.rcode] };
}

/**
 * Resolves one query. Everything short of a Redis read is answered synchronously, a repeat inside its
 * flight included: only a query that must wait for Redis (or for the flight it joins) gets a promise.
 */
export function resolver(ctx: ResolverContext): Next {
  return (qc) => {
    const q = qc.query;
    const s = qc.settings;
    const place = placeInZone(q.labels, zoneLabels(s));
    if (place.kind === 'outside') return finish(qc, { kind: 'outside' }, ctx);
    if (place.kind === 'apex') return finish(qc, { kind: 'apex', qtype: q.qtype }, ctx);
    const answerType = s.ALL_QUERIES_AS_TXT ? QTYPE.TXT : q.qtype;
    const classOk = q.qclass === 1 || q.qclass === 255;
    if (!classOk || (answerType !== QTYPE.TXT && answerType !== QTYPE.A && answerType !== QTYPE.AAAA)) {
      const last = place.labels[place.labels.length - 1]!.toString('latin1').toLowerCase();
      return finish(qc, { kind: 'badtype', qtype: q.qtype, maybeOperator: place.labels.length > 1 || Object.hasOwn(OPERATORS, last) }, ctx);
    }
    const planned = planQuery(place.labels, s.CASE_FOLDING, s.PARTITIONED_LISTINGS);
    if ('error' in planned) return finish(qc, { kind: 'error', error: planned.error, message: planned.message }, ctx);
    const plan = planned.plan;
    if (isIntrospection(plan)) {
      if (!ctx.introspectionAllowed(qc.client)) return INTROSPECTION_REFUSED;
      return finish(qc, recordsOutcome(qc, introspect(plan, s, ctx), null, answerType, ctx.queryLog), ctx);
    }
    const id = `${qc.transport}\0${answerType}\0${settingsId(s)}\0${planned.id}`;
    return ctx.flights.run(id, () => readRedis(plan, qc, answerType, ctx), keepUnlessRedisFailed, qc);
  };
}

/** Outcome for an answer too large for TCP, decided after assembly. */
export function tooLarge(q: Query, s: Settings, from: ClientAddress, log: ResolverContext['queryLog']): EncodedAnswer {
  const query = presentName(q.labels);
  const client = clientText(from);
  log.info(`${query} from ${client}: ${errorText('toolarge', '')} (MAX_TCP_PAYLOAD ${s.MAX_TCP_PAYLOAD})`, { query, client, cause: 'toolarge' });
  return answerFor({ kind: 'error', error: 'toolarge', message: '' }, s);
}
