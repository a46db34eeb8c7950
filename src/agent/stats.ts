/**
 * Agent counters. Every line and every increment is accounted for:
 *   lines      = lines_matched + lines_unmatched
 *   matches    = increments + ignored + dropped_missing_substitution + value_invalid
 *   increments = written + pending + dropped_pending_full + dropped_wrongtype + dropped_at_shutdown
 * Lines cut by datagram boundaries (reassembly.ts) count once, when whole: joined, or taken as they are after
 * waiting (expired); an over-long one is dropped and counted, not a line.
 */
export class AgentStats {
  datagrams = 0;
  lines = 0;
  lines_matched = 0;
  lines_unmatched = 0;
  matches = 0;
  ignored = 0;
  increments = 0;
  written = 0;
  dropped_pending_full = 0;
  dropped_missing_substitution = 0;
  /** Matches of a sum, max or min rule whose value was no number: not applied. */
  value_invalid = 0;
  dropped_wrongtype = 0;
  dropped_at_shutdown = 0;
  redis_errors = 0;
  /** Datagrams from senders outside the listener's allow_from, dropped unread (not counted in datagrams). */
  dropped_not_allowed = 0;
  /** Lines cut by a datagram boundary and finished by their sender's next datagram. */
  partial_lines_joined = 0;
  /** Unfinished lines taken as they were: their sender sent nothing more in time (or at shutdown). */
  partial_lines_expired = 0;
  /** Unfinished lines dropped for growing past partial_line_max_bytes. */
  dropped_partial_too_long = 0;
  /** Writes (shares) the replicas confirmed (WAIT, wait_replicas). */
  batches_confirmed = 0;
  /** Writes confirmed on the master alone: it had fewer replicas connected than wait_replicas. */
  batches_master_only = 0;
  /** Writes the replicas did not confirm within wait_timeout_ms: kept in doubt and sent again. */
  batches_unconfirmed = 0;
  /** Writes sent again, exactly as before, after no reply or no confirmation. */
  batches_resent = 0;
  readonly perRule = new Map<string, number>();

  line(matchedAny: boolean): void {
    this.lines++;
    if (matchedAny) this.lines_matched++;
    else this.lines_unmatched++;
  }

  match(rule: string): void {
    this.matches++;
    this.perRule.set(rule, (this.perRule.get(rule) ?? 0) + 1);
  }

  summary(pending: number, pendingKeys: number): string {
    const rules = [...this.perRule.entries()].map(([k, v]) => `match[${k}]=${v}`).join(' ');
    return (
      `datagrams=${this.datagrams} lines=${this.lines} matched=${this.lines_matched} unmatched=${this.lines_unmatched} ` +
      `matches=${this.matches} ignored=${this.ignored} increments=${this.increments} written=${this.written} pending=${pending} pending_keys=${pendingKeys} ` +
      `dropped_pending_full=${this.dropped_pending_full} dropped_missing_substitution=${this.dropped_missing_substitution} value_invalid=${this.value_invalid} ` +
      `dropped_wrongtype=${this.dropped_wrongtype} dropped_at_shutdown=${this.dropped_at_shutdown} redis_errors=${this.redis_errors} dropped_not_allowed=${this.dropped_not_allowed} ` +
      `partial_lines_joined=${this.partial_lines_joined} partial_lines_expired=${this.partial_lines_expired} dropped_partial_too_long=${this.dropped_partial_too_long} ` +
      `batches_confirmed=${this.batches_confirmed} batches_master_only=${this.batches_master_only} batches_unconfirmed=${this.batches_unconfirmed} batches_resent=${this.batches_resent}${rules ? ' ' + rules : ''}`
    );
  }
}
