/**
 * The request path for one parsed query: place the name in the zone, check the type, plan the
 * operation, run it on Redis, render records, and turn the outcome into an encoded answer.
 */
import type { Redis } from 'ioredis';
import { QTYPE, RCODE_NAME } from '../dns/constants.js';
import { labelsOf, type EncodedAnswer } from '../dns/message.js';
import type { Query } from '../dns/query.js';
import type { Logger } from '../common/log.js';
import { placeInZone, presentName } from '../query/name.js';
import { OPERATORS, isIntrospection, planQuery } from '../query/operators.js';
import { executePlan } from '../redis/execute.js';
import { answerFor, errorText, type Outcome } from './outcome.js';
import { clampTtl, renderRecords } from './records.js';
import { SETTING_NAMES, presentSetting, type Settings } from './settings.js';
import type { ServerStats } from './stats.js';

export interface ResolverContext {
  redis: Redis;
  log: Logger;
  stats: ServerStats;
  /** Current depths of internal queues, for queues.<zone> and stats.<zone>. */
  gauges(): Record<string, number>;
}

export interface Resolution {
  answer: EncodedAnswer;
  /** What happened, for counters and logs. */
  outcome: string;
}

const zoneCache = new WeakMap<Settings, Buffer[]>();
function zoneLabels(s: Settings): Buffer[] {
  let z = zoneCache.get(s);
  if (!z) zoneCache.set(s, (z = labelsOf(s.ZONE)));
  return z;
}

function introspect(op: 'config' | 'queues' | 'stats', s: Settings, ctx: ResolverContext): Buffer[][] {
  let lines: string[];
  if (op === 'config') lines = SETTING_NAMES.map((n) => `${n}:${presentSetting(s[n])}`);
  else if (op === 'queues') lines = Object.entries(ctx.gauges()).map(([k, v]) => `${k}:${v}`);
  else lines = ctx.stats.lines(ctx.gauges());
  return lines.map((l) => [Buffer.from(l)]);
}

async function outcomeOf(q: Query, s: Settings, client: string, ctx: ResolverContext): Promise<Outcome> {
  const place = placeInZone(q.labels, zoneLabels(s));
  if (place.kind === 'outside') return { kind: 'outside' };
  if (place.kind === 'apex') return { kind: 'apex', qtype: q.qtype };
  const answerType = s.ALL_QUERIES_AS_TXT ? QTYPE.TXT : q.qtype;
  const classOk = q.qclass === 1 || q.qclass === 255;
  if (!classOk || (answerType !== QTYPE.TXT && answerType !== QTYPE.A && answerType !== QTYPE.AAAA)) {
    const last = place.labels[place.labels.length - 1]!.toString('latin1').toLowerCase();
    return { kind: 'badtype', maybeOperator: place.labels.length > 1 || Object.hasOwn(OPERATORS, last) };
  }
  const planned = planQuery(place.labels, s.CASE_FOLDING);
  if ('error' in planned) return { kind: 'error', error: planned.error, message: planned.message };
  const plan = planned.plan;
  let records: Buffer[][];
  let ttl: number | null = null;
  if (isIntrospection(plan)) {
    records = introspect(plan.op, s, ctx);
  } else {
    const started = performance.now();
    const reply = await executePlan(ctx.redis, plan, s.MAX_KEYS);
    ctx.stats.redisLatency(performance.now() - started);
    if (reply.kind === 'nil') return { kind: 'nxdomain' };
    if (reply.kind === 'error') return { kind: 'error', error: reply.error, message: reply.message };
    records = reply.records;
    ttl = reply.ttl;
  }
  const r = renderRecords(records, answerType, clampTtl(ttl, s), s);
  if (r.oversize > 0) ctx.log.info(`${presentName(q.labels)} from ${client}: ${r.oversize} value(s) over MAX_VALUE_PAYLOAD ${s.RETURN_PARTIAL_VALUE ? 'cut' : 'dropped'}`);
  if (r.unconvertible > 0) ctx.log.info(`${presentName(q.labels)} from ${client}: ${r.unconvertible} value(s) not convertible to ${answerType === QTYPE.A ? 'A' : 'AAAA'} left out`);
  return { kind: 'records', rrs: r.rrs };
}

export async function resolve(q: Query, s: Settings, client: string, ctx: ResolverContext): Promise<Resolution> {
  const o = await outcomeOf(q, s, client, ctx);
  const answer = answerFor(o, s);
  if (o.kind === 'error') {
    const text = errorText(o.error, o.message);
    (o.error === 'redis' ? ctx.log.warn : ctx.log.info)(`${presentName(q.labels)} from ${client}: ${text}`);
    return { answer, outcome: `error_${o.error}` };
  }
  return { answer, outcome: RCODE_NAME[answer.rcode]!.toLowerCase() };
}

/** Outcome for an answer too large for TCP, decided after assembly. */
export function tooLarge(q: Query, s: Settings, client: string, ctx: ResolverContext): EncodedAnswer {
  ctx.log.info(`${presentName(q.labels)} from ${client}: ${errorText('toolarge', '')} (MAX_TCP_PAYLOAD ${s.MAX_TCP_PAYLOAD})`);
  return answerFor({ kind: 'error', error: 'toolarge', message: '' }, s);
}
