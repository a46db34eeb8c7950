/**
 * Why a listing failed, in words a user can act on: what was tried, and the likely causes by name. Pure, so
 * every case is a row of a table test.
 */
import { TotalError } from './errors.js';

export interface FailedListing {
  /** The whole listing's query name. */
  name: string;
  zone: string;
  /** How the last query failed: an rcode name, or a timeout or socket message. */
  reason: string;
  /** Some answer came through a recursive resolver (RA=1). */
  viaResolver: boolean;
  /** What was asked, in order, each with its outcome. */
  tried: string[];
  /** Why the size of the answers is ruled out as the cause, when smaller listings failed too. */
  notSize?: string;
  /** MAX_KEYS, when the server said the pattern matches more keys than that. */
  overMaxKeys?: number;
  /** The listing went on while pages failed here and there: failures, not size. */
  scattered?: { failed: number; answered: number };
  /** Through a resolver, whether the zone's SOA was answered (rkvdns reachable) when listings were refused. */
  zoneAnswered?: boolean;
  /** The count (the probe) got no answer in any of its tries, after the whole listing was answered. */
  countTimedOut?: { tries: number; timeoutMs: number };
}

/** Nothing answered at all: a refused port, or a timeout. */
function silent(reason: string): boolean {
  return / \(connection refused\)$|^no (TCP )?answer from /.test(reason);
}

/** Record limits of resolvers that refuse large RRsets with SERVFAIL, as their documentation names them. */
const RESOLVER_RRSET_LIMITS = 'BIND 9.18.28 and later: max-records-per-type (default 100); PowerDNS Recursor 4.8.8 and later: max-rrset-size (default 256)';

function causes(f: FailedListing): string[] {
  const stats = `dig TXT stats.${f.zone}`;
  if (f.countTimedOut) {
    const { tries, timeoutMs } = f.countTimedOut;
    return [
      `the count got no answer in ${tries} tries of ${timeoutMs} ms while rkvdns scanned the pattern's keys (seconds for millions, more on a busy Redis): ` +
        'ask again (the scan is kept for the pages that follow, at least DEFAULT_TTL), or allow each try more with --timeout',
    ];
  }
  if (f.overMaxKeys !== undefined) {
    return [
      `the pattern matches more than the server's MAX_KEYS (${f.overMaxKeys}) keys: raise MAX_KEYS in rkvdns's configuration, or narrow the totalizer with a literal or partial field`,
    ];
  }
  if (f.reason === 'NXDOMAIN') {
    return [
      `the zone ${f.zone} is not answered by rkvdns on this path: check --zone, and that the resolver sends ${f.zone} to rkvdns (zones/ has a configuration for each resolver)`,
    ];
  }
  if (f.reason === 'REFUSED') {
    return ['the resolver refuses this client (BIND allow-query / allow-recursion, unbound access-control, PowerDNS allow-from, Knot Resolver view)'];
  }
  if (silent(f.reason)) {
    return [
      / \(connection refused\)$/.test(f.reason)
        ? 'nothing listens there: rkvdns is not running on that address and port, or --server names the wrong port'
        : `nothing answered, not even the zone's SOA: rkvdns is not running or not reachable from here (a firewall), or the resolver drops the queries; check --server, and that ${stats} answers through the same path`,
    ];
  }
  if (f.reason !== 'SERVFAIL' && f.reason !== 'FORMERR') {
    return [
      `no usable answer (${f.reason}): check that rkvdns is running and reachable from the resolver (${stats} through the same path), and the --server and --timeout given`,
    ];
  }
  const out: string[] = [];
  if (f.scattered) {
    out.push(
      `${f.scattered.failed} pages failed while ${f.scattered.answered} were answered, so not for their size: rkvdns timing out on Redis (REDIS_TIMEOUT_MS in its log; ${stats}), ` +
        'or the resolver dropping TCP connections (unbound incoming-num-tcp/outgoing-num-tcp, BIND tcp-clients, dnsmasq serves at most 20 TCP connections at once)',
    );
  } else if (f.notSize) {
    const redis = `rkvdns cannot read Redis (its log; ${stats})`;
    const resolver =
      'the resolver cannot reach rkvdns or rejects its answers (unbound refuses to ask a loopback address unless do-not-query-localhost: no; ' +
      'DNSSEC validation of the unsigned zone; qname minimisation without CONFORMANCE: see zones/)';
    // Through a resolver the zone's SOA tells which is more likely: rkvdns answers it without Redis.
    const order = !f.viaResolver ? [redis] : f.zoneAnswered === false ? [resolver, redis] : [redis, resolver];
    out.push(`${f.notSize}, so not for their size: ${order.join(', or ')}`);
  } else {
    if (f.viaResolver)
      out.push(`a resolver's limit on records per RRset (${RESOLVER_RRSET_LIMITS}): raise it for the zone's resolver, or page through rkvdns directly`);
    out.push(`an answer over rkvdns's MAX_TCP_PAYLOAD, or a Redis error at rkvdns (its log; ${stats})`);
  }
  if (f.reason === 'FORMERR') out.push('a server that does not page listings (PARTITIONED_LISTINGS False, or the original RKVDNS)');
  return out;
}

export function listingFailure(f: FailedListing): TotalError {
  return new TotalError([`listing ${f.name} failed: ${f.reason}`, `  tried: ${f.tried.join('; ')}`, `  likely causes: ${causes(f).join('; or ')}`].join('\n'));
}
