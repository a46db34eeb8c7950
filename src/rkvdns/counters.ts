/**
 * Every counter and gauge rkvdns keeps, declared once with what it means: the stats.<zone> record, the stats
 * log lines, /metrics and the README's tables all come from these lists, and a counter not declared here cannot
 * be counted (ServerStats.count takes a Counter). Each also has its place on /metrics, below, checked complete
 * by the compiler.
 */
import { buildInfo, familiesTable, type FamilyType, type Labels } from '../common/metrics.js';
import { SEND_FAILURES, type SendFailure } from '../native/addon.js';
import type { ErrorKind } from './outcome.js';

const SEND_FAILURE_CAUSES: Record<SendFailure, string> = {
  msgsize: 'EMSGSIZE: too large for the path',
  access: 'EACCES: a broadcast destination',
  unreachable: 'EHOSTUNREACH, ENETUNREACH and the like',
  permission: 'EPERM: a firewall rule',
  invalid: 'EINVAL: an address the kernel will not send to, such as port 0',
  family: 'an address family this socket cannot reach',
  other: 'any other error',
};

export const COUNTERS = {
  udp_queries: 'packets received over UDP',
  udp_cache_answers:
    'UDP queries the batched path answered from its answer cache, without JavaScript (UDP_ANSWER_CACHE); each is also counted as a UDP query, by its outcome, and as marshalled',
  tcp_queries: 'messages received over TCP',
  rejected_short: 'packets shorter than a DNS header, ignored',
  rejected_response: 'packets that are responses, not queries, ignored',
  rejected_formerr: 'malformed queries, answered FORMERR',
  rejected_notimp: 'opcodes other than QUERY, answered NOTIMP',
  badvers: 'queries with an EDNS version above 0, answered BADVERS',
  refused_acl: 'queries from clients outside ALLOW_QUERY, answered REFUSED',
  refused_introspection: 'queries for config, stats or queues from clients INTROSPECTION does not allow, answered REFUSED',
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
  flights_full: 'Redis reads that ran alone, unshared, because the marshalling table held MAX_FLIGHTS flights (a running count)',
  debounce_entries: 'entries in the DEBOUNCE table',
  key_snapshots: 'key lists held for the pages of partitioned listings',
  rrl_accounts: 'client networks tracked by response rate limiting (at most RRL_TABLE_SIZE)',
  redis_commands_queued: 'Redis commands sent and not yet answered',
  redis_reads_from_replica: '1 while reads go to a replica the sentinels name (READ_FROM replica), 0 to the master',
  udp_batched: '1 when UDP goes through the batched addon (recvmmsg/sendmmsg), 0 for node:dgram (UDP_IO)',
  udp_oversize_dropped: 'query datagrams over 4,096 bytes dropped by the batched UDP path (a running count)',
  udp_send_dropped: "UDP answers dropped on the batched path because the socket's send buffer stayed full (a running count)",
  ...sendFailureGauges(),
  udp_queue_dropped: 'UDP queries the batched path dropped because 4,096 already waited for the main thread (a running count)',
  udp_cache_entries: 'answers the batched UDP path holds for repeats (UDP_ANSWER_CACHE)',
  udp_cache_refused: 'answers offered to the batched UDP answer cache and not kept: too long, malformed or already ended (a running count)',
  udp_cache_evicted: 'answers the batched UDP answer cache dropped before their end to make room for newer ones (a running count)',
  worker: 'the worker that answered, with --workers',
} as const;

export type Gauge = keyof typeof GAUGES;

/** One gauge per cause of a refused UDP answer (SEND_FAILURES), for stats.<zone>; one labelled family on /metrics. */
function sendFailureGauges() {
  return Object.fromEntries(
    SEND_FAILURES.map((c) => [
      `udp_send_failed_${c}`,
      `UDP answers the kernel refused for themselves (${SEND_FAILURE_CAUSES[c]}); the rest of their batch was sent (a running count)`,
    ]),
  ) as Record<`udp_send_failed_${SendFailure}`, string>;
}

/** The Redis latency percentiles added to stats (from a rolling sample). */
export const LATENCIES = {
  redis_p50_ms: 'median time of a Redis read, ms',
  redis_p99_ms: '99th percentile time of a Redis read, ms',
} as const;

/** Bounds of the Redis read time histogram, seconds: from a local Redis's 0.1 ms to the 1 s command timeout. */
export const REDIS_SECONDS_BOUNDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

/**
 * The /metrics families counters are shown in, `rkvdns_` prefixed. Counters of one kind share a family and are
 * told apart by a label, the way CoreDNS has coredns_dns_requests_total{proto} and coredns_dns_responses_total{rcode}.
 */
export const COUNTER_FAMILIES = {
  queries_total: 'queries received, by transport',
  queries_rejected_total: 'queries not answered as asked, by reason: short and response are ignored; formerr, notimp and badvers get that rcode',
  queries_refused_acl_total: COUNTERS.refused_acl,
  queries_refused_introspection_total: COUNTERS.refused_introspection,
  queries_dropped_total: 'UDP queries not answered, by reason: MAX_PENDING, DEBOUNCE, or the response rate limit (rrl)',
  rrl_slipped_total: COUNTERS.rrl_slipped,
  hidden_keys_total: 'keys outside EXPOSE_KEYS: reads answered as for a missing key (read) and keys left out of listings (listing)',
  responses_total: 'answers that are not errors of a query, by rcode (errors are in rkvdns_errors_total)',
  errors_total: 'queries answered with an error, by kind: parameter, operand, syntax, redis, toomany, toolarge',
  answers_cut_total: 'answers cut for size, by how: tc (UDP with TC=1), partial (TCP, RETURN_PARTIAL_TCP), refused (TCP, too large)',
  handler_failures_total: COUNTERS.handler_failed,
  udp_cache_answers_total: COUNTERS.udp_cache_answers,
  tcp_connection_events_total:
    'TCP connections, by event: accepted; refused (MAX_TCP_CONNECTIONS); idle_closed, read_deadline (TCP_TIMEOUT); bad_frame; socket_error',
} as const;

type Place = readonly [keyof typeof COUNTER_FAMILIES, Labels];

/** Where each counter shows on /metrics. */
export const COUNTER_METRICS = {
  udp_queries: ['queries_total', { transport: 'udp' }],
  udp_cache_answers: ['udp_cache_answers_total', {}],
  tcp_queries: ['queries_total', { transport: 'tcp' }],
  rejected_short: ['queries_rejected_total', { reason: 'short' }],
  rejected_response: ['queries_rejected_total', { reason: 'response' }],
  rejected_formerr: ['queries_rejected_total', { reason: 'formerr' }],
  rejected_notimp: ['queries_rejected_total', { reason: 'notimp' }],
  badvers: ['queries_rejected_total', { reason: 'badvers' }],
  refused_acl: ['queries_refused_acl_total', {}],
  refused_introspection: ['queries_refused_introspection_total', {}],
  hidden_reads: ['hidden_keys_total', { where: 'read' }],
  hidden_listed: ['hidden_keys_total', { where: 'listing' }],
  rrl_dropped: ['queries_dropped_total', { reason: 'rrl' }],
  rrl_slipped: ['rrl_slipped_total', {}],
  dropped_pending: ['queries_dropped_total', { reason: 'max_pending' }],
  dropped_debounce: ['queries_dropped_total', { reason: 'debounce' }],
  noerror: ['responses_total', { rcode: 'NOERROR' }],
  nxdomain: ['responses_total', { rcode: 'NXDOMAIN' }],
  servfail: ['responses_total', { rcode: 'SERVFAIL' }],
  formerr: ['responses_total', { rcode: 'FORMERR' }],
  notimp: ['responses_total', { rcode: 'NOTIMP' }],
  refused: ['responses_total', { rcode: 'REFUSED' }],
  error_parameter: ['errors_total', { kind: 'parameter' }],
  error_operand: ['errors_total', { kind: 'operand' }],
  error_syntax: ['errors_total', { kind: 'syntax' }],
  error_redis: ['errors_total', { kind: 'redis' }],
  error_toomany: ['errors_total', { kind: 'toomany' }],
  error_toolarge: ['errors_total', { kind: 'toolarge' }],
  too_large_tcp: ['answers_cut_total', { how: 'refused' }],
  truncated: ['answers_cut_total', { how: 'tc' }],
  partial_tcp: ['answers_cut_total', { how: 'partial' }],
  handler_failed: ['handler_failures_total', {}],
  tcp_accepted: ['tcp_connection_events_total', { event: 'accepted' }],
  tcp_refused: ['tcp_connection_events_total', { event: 'refused' }],
  tcp_idle_closed: ['tcp_connection_events_total', { event: 'idle_closed' }],
  tcp_read_deadline: ['tcp_connection_events_total', { event: 'read_deadline' }],
  tcp_bad_frame: ['tcp_connection_events_total', { event: 'bad_frame' }],
  tcp_socket_error: ['tcp_connection_events_total', { event: 'socket_error' }],
} as const satisfies Record<Counter, Place>;

/** Where each gauge shows on /metrics (`rkvdns_` prefixed), as a gauge or, for running counts, a counter; null: not shown. */
export const GAUGE_METRICS = {
  pending: ['pending_queries', 'gauge'],
  tcp_connections: ['tcp_connections_open', 'gauge'],
  flights: ['flights', 'gauge'],
  marshalled: ['marshalled_total', 'counter'],
  prefetched: ['prefetched_total', 'counter'],
  flights_full: ['flights_full_total', 'counter'],
  debounce_entries: ['debounce_entries', 'gauge'],
  key_snapshots: ['key_snapshots', 'gauge'],
  rrl_accounts: ['rrl_accounts', 'gauge'],
  redis_commands_queued: ['redis_commands_queued', 'gauge'],
  redis_reads_from_replica: ['redis_reads_from_replica', 'gauge'],
  udp_batched: ['udp_batched', 'gauge'],
  udp_oversize_dropped: ['udp_oversize_dropped_total', 'counter'],
  udp_send_dropped: ['udp_send_dropped_total', 'counter'],
  ...sendFailurePlaces(),
  udp_queue_dropped: ['udp_queue_dropped_total', 'counter'],
  udp_cache_entries: ['udp_cache_entries', 'gauge'],
  udp_cache_refused: ['udp_cache_refused_total', 'counter'],
  udp_cache_evicted: ['udp_cache_evicted_total', 'counter'],
  // Under --workers the primary adds the workers' values up; which worker answered is a DNS-only fact.
  worker: null,
} as const satisfies Record<Gauge, GaugePlace | null>;

/** A gauge's family on /metrics, its type, and its labels when several gauges share the family. */
type GaugePlace = readonly [string, Exclude<FamilyType, 'histogram'>, Labels?];

function sendFailurePlaces() {
  const place = (c: SendFailure): GaugePlace => ['udp_send_failed_total', 'counter', { cause: c }];
  return Object.fromEntries(SEND_FAILURES.map((c) => [`udp_send_failed_${c}`, place(c)])) as Record<`udp_send_failed_${SendFailure}`, GaugePlace>;
}

/** The help of a family several gauges share (told apart by labels). */
const SHARED_GAUGE_FAMILIES: Record<string, string> = {
  udp_send_failed_total: 'UDP answers the kernel refused for themselves, by cause (the rest of their batch was sent; batched UDP path only)',
};

/** The gauges' /metrics families (`rkvdns_` prefixed): each with the gauges shown in it and their labels. */
export function gaugeFamilies(): { name: string; type: Exclude<FamilyType, 'histogram'>; help: string; members: [Gauge, Labels][] }[] {
  const byName = new Map<string, ReturnType<typeof gaugeFamilies>[number]>();
  for (const [gauge, place] of Object.entries(GAUGE_METRICS) as [Gauge, GaugePlace | null][]) {
    if (!place) continue;
    const [family, type, labels] = place;
    let f = byName.get(family);
    if (!f) byName.set(family, (f = { name: `rkvdns_${family}`, type, help: SHARED_GAUGE_FAMILIES[family] ?? GAUGES[gauge], members: [] }));
    f.members.push([gauge, labels ?? {}]);
  }
  return [...byName.values()];
}

export const REDIS_SECONDS_HELP = 'time of a Redis read (GET, TTL, SCAN pages, ...), seconds';
export const UDP_SOJOURN_HELP = "time from the kernel's receipt of a UDP query to its answer leaving, socket queue included, seconds (batched UDP path only)";

/** The README's list of /metrics families, from the declarations above. */
export function metricsTable(): string {
  const labelsOf = (family: string) => [
    ...new Set(
      Object.values(COUNTER_METRICS)
        .filter(([f]) => f === family)
        .flatMap(([, l]) => Object.keys(l)),
    ),
  ];
  return familiesTable([
    ...Object.entries(COUNTER_FAMILIES).map(([name, help]) => ({ name: `rkvdns_${name}`, type: 'counter' as const, labels: labelsOf(name), help })),
    ...gaugeFamilies().map((f) => ({ name: f.name, type: f.type, labels: [...new Set(f.members.flatMap(([, l]) => Object.keys(l)))], help: f.help })),
    { name: 'rkvdns_redis_seconds', type: 'histogram', labels: ['le'], help: REDIS_SECONDS_HELP },
    { name: 'rkvdns_udp_sojourn_seconds', type: 'histogram', labels: ['le'], help: UDP_SOJOURN_HELP },
    buildInfo('rkvdns'),
  ]);
}

/** The README's table of what stats.<zone> shows, from the lists above. */
export function statsTable(): string {
  const rows = [
    ...Object.entries(COUNTERS).map(([k, v]) => `| \`${k}\` | counter | ${v} |`),
    ...Object.entries(LATENCIES).map(([k, v]) => `| \`${k}\` | latency | ${v} |`),
    ...Object.entries(GAUGES).map(([k, v]) => `| \`${k}\` | gauge | ${v} |`),
  ];
  return ['| name | kind | meaning |', '|---|---|---|', ...rows].join('\n');
}
