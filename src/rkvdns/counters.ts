/**
 * Every counter and gauge rkvdns keeps, declared once with what it means: the stats.<zone> record, the stats
 * log lines and the README's table all come from these lists, and a counter not declared here cannot be
 * counted (ServerStats.count takes a Counter).
 */
import type { ErrorKind } from './outcome.js';

export const COUNTERS = {
  udp_queries: 'packets received over UDP',
  tcp_queries: 'messages received over TCP',
  rejected_short: 'packets shorter than a DNS header, ignored',
  rejected_response: 'packets that are responses, not queries, ignored',
  rejected_formerr: 'malformed queries, answered FORMERR',
  rejected_notimp: 'opcodes other than QUERY, answered NOTIMP',
  badvers: 'queries with an EDNS version above 0, answered BADVERS',
  refused_acl: 'queries from clients outside ALLOW_QUERY, answered REFUSED',
  hidden_reads: 'reads of keys outside EXPOSE_KEYS, answered as for a missing key',
  hidden_listed: 'keys outside EXPOSE_KEYS left out of listings and counts',
  rrl_dropped: 'UDP responses over the rate limit (RRL), not sent',
  rrl_slipped: 'UDP responses over the rate limit sent as an empty TC=1 answer (every RRL_SLIP-th)',
  dropped_pending: 'UDP queries dropped at MAX_PENDING',
  dropped_debounce: 'repeats dropped by DEBOUNCE',
  noerror: 'answers NOERROR (records, or no data)',
  nxdomain: 'answers NXDOMAIN',
  servfail: 'answers SERVFAIL other than the errors below (a negative answer without an SOA configured)',
  formerr: 'answers FORMERR other than the errors below (a query at the apex, CONFORMANCE off)',
  notimp: 'answers NOTIMP (a query type or class not served, CONFORMANCE off)',
  refused: 'answers REFUSED',
  error_parameter: 'wrong number of labels, or an empty one',
  error_operand: 'unknown operator',
  error_syntax: 'bad index, range or shard pattern',
  error_redis: 'Redis failed or timed out',
  error_toomany: 'a pattern over MAX_KEYS',
  error_toolarge: 'listings refused before reading values: more records than one TCP answer can hold',
  too_large_tcp: 'TCP answers refused for their size after assembly',
  truncated: 'UDP answers sent with TC=1',
  partial_tcp: 'TCP answers sent with records left out (RETURN_PARTIAL_TCP)',
  handler_failed: 'queries whose handling failed unexpectedly, answered SERVFAIL',
  tcp_accepted: 'TCP connections accepted',
  tcp_refused: 'TCP connections closed at once beyond MAX_TCP_CONNECTIONS',
  tcp_idle_closed: 'TCP connections closed after TCP_TIMEOUT without a query',
  tcp_read_deadline: 'TCP connections closed with a message still incomplete after TCP_TIMEOUT',
  tcp_bad_frame: 'TCP connections closed for a length prefix shorter than a DNS header',
  tcp_socket_error: 'TCP connections closed by a socket error (reset, broken pipe)',
} as const satisfies Record<string, string> & Record<`error_${ErrorKind}`, string>;

export type Counter = keyof typeof COUNTERS;

export const GAUGES = {
  pending: 'queries waiting for Redis (or CONTROL_KEY), against MAX_PENDING',
  tcp_connections: 'TCP connections open',
  flights: 'flights in the marshalling table',
  marshalled: 'queries answered from a flight another query started (a running count)',
  prefetched: 'Redis reads started early by PREFETCH (a running count)',
  debounce_entries: 'entries in the DEBOUNCE table',
  key_snapshots: 'key lists held for the pages of partitioned listings',
  rrl_accounts: 'client networks tracked by response rate limiting (at most RRL_TABLE_SIZE)',
  redis_commands_queued: 'Redis commands sent and not yet answered',
  worker: 'the worker that answered, with --workers',
} as const;

export type Gauge = keyof typeof GAUGES;

/** The Redis latency percentiles added to stats (from a rolling sample). */
export const LATENCIES = {
  redis_p50_ms: 'median time of a Redis read, ms',
  redis_p99_ms: '99th percentile time of a Redis read, ms',
} as const;

/** The README's table of what stats.<zone> shows, from the lists above. */
export function statsTable(): string {
  const rows = [
    ...Object.entries(COUNTERS).map(([k, v]) => `| \`${k}\` | counter | ${v} |`),
    ...Object.entries(LATENCIES).map(([k, v]) => `| \`${k}\` | latency | ${v} |`),
    ...Object.entries(GAUGES).map(([k, v]) => `| \`${k}\` | gauge | ${v} |`),
  ];
  return ['| name | kind | meaning |', '|---|---|---|', ...rows].join('\n');
}
