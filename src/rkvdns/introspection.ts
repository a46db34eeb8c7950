/**
 * The single-label introspection names: config.<zone> (the settings), queues.<zone> (queue depths) and
 * stats.<zone> (counters). Anyone who can reach the server, and every cache in front of it, can read them, so:
 *
 * - config never carries a credential: REDIS_SERVER is shown as where Redis is (hosts, ports, database, TLS),
 *   never with its user or password;
 * - each config record splits on `:` into exactly the setting's name and its value, as the original's fleet tools
 *   parse it (`dict(txt.split(':'))`): an IPv6 address is written with `-` for each `:` (`2001-db8--1`, as in the
 *   ipv6-literal.net form), a host and port as `host port N`, and any other colon as `\x3a`;
 * - INTROSPECTION can restrict the three names to some client networks, or turn them off (REFUSED).
 */
import { AddressList } from '../common/cidr.js';
import { parseHostPort } from '../common/hostport.js';
import type { ClientAddress } from '../dns/client-address.js';
import { parseRedisTarget, targetPlaces } from '../redis/target.js';
import { SETTING_NAMES, presentSetting, type Settings } from './settings.js';

/** An IPv6 address with `-` for each `:`; other text unchanged. */
const dashed = (address: string) => address.replaceAll(':', '-');

function hostAndPort(host: string, port: number): string {
  return `${dashed(host)} port ${port}`;
}

/** Where Redis is, without credentials or colons: `10.0.0.5 port 6379 db 0`, `cluster a port 7000, b port 7001`. */
export function presentRedis(url: string): string {
  let p;
  try {
    p = targetPlaces(parseRedisTarget(url));
  } catch {
    return 'unparsable';
  }
  const nodes = p.nodes.map((n) => hostAndPort(n.host, n.port)).join(', ');
  const where = p.kind === 'cluster' ? `cluster ${nodes}` : `${nodes} db ${p.db}`;
  return p.tls ? `${where} tls` : where;
}

/** A setting's value as config.<zone> shows it: credential-free, colon-free. */
export function configValue(name: keyof Settings, s: Settings): string {
  const v = s[name];
  if (name === 'REDIS_SERVER') return presentRedis(String(v));
  if (name === 'METRICS' && typeof v === 'string') {
    const at = parseHostPort(v);
    if (!('error' in at)) return hostAndPort(at.host, at.port);
  }
  if (name === 'INTERFACE' || name === 'ALLOW_QUERY' || name === 'RRL_EXEMPT' || (name === 'INTROSPECTION' && typeof v === 'string')) {
    return dashed(presentSetting(v));
  }
  return presentSetting(v).replaceAll(':', '\\x3a');
}

/** The config.<zone> records: one `NAME:value` per setting. */
export function configLines(s: Settings): string[] {
  return SETTING_NAMES.map((n) => `${n}:${configValue(n, s)}`);
}

/** Whether a client may read the introspection names, from INTROSPECTION (True, False, or a list of networks). */
export function introspectionAccess(setting: Settings['INTROSPECTION']): (client: ClientAddress) => boolean {
  if (typeof setting === 'boolean') return () => setting;
  const list = new AddressList(setting);
  return (client) => list.has(client);
}
