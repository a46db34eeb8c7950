/**
 * Every count the agent keeps (the numeric fields of AgentStats), declared once with what it means and where it
 * shows on /metrics; the compiler checks that no field is left out. The README's metric list comes from here.
 */
import { buildInfo, familiesTable, type Family, type Labels } from '../common/metrics.js';
import type { AgentStats } from './stats.js';

type AgentCounter = { [K in keyof AgentStats]: AgentStats[K] extends number ? K : never }[keyof AgentStats];

/** The /metrics families of the counters, `totalizer_agent_` prefixed. */
export const AGENT_FAMILIES = {
  datagrams_total: 'UDP datagrams read (each holds one or more lines)',
  datagrams_dropped_total: "datagrams dropped unread, by reason: not_allowed (a sender outside the listener's allow_from)",
  lines_total: 'lines read, by outcome: matched (by at least one rule) or unmatched',
  matches_total: 'rule matches',
  rule_matches_total: 'rule matches, by rule',
  matches_not_counted_total:
    "matches that made no increment, by reason: ignored (the rule says so), missing_substitution, value_invalid (a sum, max or min rule's value was no number)",
  increments_total: 'counter increments made by matches',
  increments_written_total: 'increments written to Redis',
  increments_dropped_total: 'increments lost, by reason: pending_full (max_pending_keys), wrongtype (the key holds no integer), at_shutdown',
  redis_errors_total: 'Redis writes that failed (their increments stay pending and are retried)',
  write_batches_total:
    'writes to Redis, by outcome: confirmed (by wait_replicas replicas), master_only (fewer replicas were connected), unconfirmed (not confirmed in wait_timeout_ms: sent again), resent',
  partial_lines_total:
    "lines a datagram boundary cut, by outcome: joined (finished by the sender's next datagram), expired (taken as they were after partial_line_timeout_ms), too_long (dropped past partial_line_max_bytes)",
} as const;

type Place = readonly [keyof typeof AGENT_FAMILIES, Labels] | null;

/** Where each count shows; null for `lines`, which is matched + unmatched. */
export const AGENT_COUNTERS = {
  datagrams: ['datagrams_total', {}],
  dropped_not_allowed: ['datagrams_dropped_total', { reason: 'not_allowed' }],
  lines: null,
  lines_matched: ['lines_total', { outcome: 'matched' }],
  lines_unmatched: ['lines_total', { outcome: 'unmatched' }],
  matches: ['matches_total', {}],
  ignored: ['matches_not_counted_total', { reason: 'ignored' }],
  dropped_missing_substitution: ['matches_not_counted_total', { reason: 'missing_substitution' }],
  value_invalid: ['matches_not_counted_total', { reason: 'value_invalid' }],
  increments: ['increments_total', {}],
  written: ['increments_written_total', {}],
  dropped_pending_full: ['increments_dropped_total', { reason: 'pending_full' }],
  dropped_wrongtype: ['increments_dropped_total', { reason: 'wrongtype' }],
  dropped_at_shutdown: ['increments_dropped_total', { reason: 'at_shutdown' }],
  redis_errors: ['redis_errors_total', {}],
  partial_lines_joined: ['partial_lines_total', { outcome: 'joined' }],
  partial_lines_expired: ['partial_lines_total', { outcome: 'expired' }],
  dropped_partial_too_long: ['partial_lines_total', { outcome: 'too_long' }],
  batches_confirmed: ['write_batches_total', { outcome: 'confirmed' }],
  batches_master_only: ['write_batches_total', { outcome: 'master_only' }],
  batches_unconfirmed: ['write_batches_total', { outcome: 'unconfirmed' }],
  batches_resent: ['write_batches_total', { outcome: 'resent' }],
} as const satisfies Record<AgentCounter, Place>;

export const AGENT_GAUGES = {
  pending_increments: 'increments held for the next write to Redis',
  pending_keys: 'distinct keys held for the next write (at most max_pending_keys)',
  partial_lines_held: 'senders with an unfinished line waiting for their next datagram',
} as const;

export function agentFamilies(stats: AgentStats, pending: () => Record<keyof typeof AGENT_GAUGES, number>): Family[] {
  const counters = Object.entries(AGENT_COUNTERS) as [AgentCounter, Place][];
  return [
    ...Object.entries(AGENT_FAMILIES).map(([family, help]): Family => ({
      name: `totalizer_agent_${family}`,
      help,
      type: 'counter',
      samples: () =>
        family === 'rule_matches_total'
          ? [...stats.perRule].map(([rule, value]) => ({ labels: { rule }, value }))
          : counters.flatMap(([c, at]) => (at?.[0] === family ? [{ labels: at[1], value: stats[c] }] : [])),
    })),
    ...Object.entries(AGENT_GAUGES).map(([gauge, help]): Family => ({
      name: `totalizer_agent_${gauge}`,
      help,
      type: 'gauge',
      samples: () => [{ value: pending()[gauge as keyof typeof AGENT_GAUGES] }],
    })),
    buildInfo('totalizer_agent'),
  ];
}

/** The README's list of the agent's /metrics families. */
export function agentMetricsTable(): string {
  const labelsOf = (family: string) =>
    family === 'rule_matches_total' ? ['rule'] : [...new Set(Object.values(AGENT_COUNTERS).flatMap((at) => (at?.[0] === family ? Object.keys(at[1]) : [])))];
  return familiesTable([
    ...Object.entries(AGENT_FAMILIES).map(([f, help]) => ({ name: `totalizer_agent_${f}`, type: 'counter' as const, labels: labelsOf(f), help })),
    ...Object.entries(AGENT_GAUGES).map(([g, help]) => ({ name: `totalizer_agent_${g}`, type: 'gauge' as const, labels: [], help })),
    buildInfo('totalizer_agent'),
  ]);
}
