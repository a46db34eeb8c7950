/**
 * Where the counters live: one Redis (`redis://host:port[/db]`, `rediss://` for TLS) or a Redis Cluster
 * (`redis+cluster://[user:password@]host:port,host:port,...`, `rediss+cluster://` for TLS), given by any
 * of its nodes; the rest are discovered from CLUSTER SLOTS.
 */

export interface ClusterTarget {
  kind: 'cluster';
  seeds: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

export type RedisTarget = { kind: 'single'; url: string } | ClusterTarget;

const USAGE = 'use redis://host:port[/db] for one Redis or redis+cluster://host:port,host:port for a cluster';

/** The URL with any password replaced by `***`, for messages: a URL that does not parse may still hold one. */
export function redactedUrl(url: string): string {
  return url.replace(/^([a-z+]*:\/\/[^/@]*?:)[^/@]*@/i, '$1***@').replace(/^([a-z+]*:\/\/)([^/:@]+)@/i, '$1***@');
}

export function parseRedisTarget(url: string, setting = 'REDIS_SERVER'): RedisTarget {
  const m = /^(rediss?)\+cluster:\/\/(.*)$/.exec(url);
  const shown = redactedUrl(url);
  if (!m) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`${setting} '${shown}' is not a URL; ${USAGE}`);
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
      throw new Error(`${setting} '${shown}' must start with redis://, rediss:// or redis+cluster://; ${USAGE}`);
    return { kind: 'single', url };
  }
  let rest = m[2]!.replace(/\/+$/, '');
  const target: ClusterTarget = { kind: 'cluster', seeds: [], tls: m[1] === 'rediss' };
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = auth.indexOf(':');
    if (colon >= 0) {
      if (colon > 0) target.username = decodeURIComponent(auth.slice(0, colon));
      target.password = decodeURIComponent(auth.slice(colon + 1));
    } else {
      target.password = decodeURIComponent(auth);
    }
  }
  for (const node of rest.split(',')) {
    const n = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/]+):(\d{1,5})$/.exec(node.trim());
    const port = n ? Number(n[2]) : 0;
    if (!n || port < 1 || port > 65535) throw new Error(`${setting} '${shown}': cluster node '${node}' is not host:port; ${USAGE}`);
    target.seeds.push({ host: n[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return target;
}

/** Where a target's Redis is, and nothing else (no user, no password): for answers anyone may read. */
export interface TargetPlaces {
  kind: RedisTarget['kind'];
  tls: boolean;
  nodes: { host: string; port: number }[];
  /** The database of one Redis (a cluster has only 0). */
  db: number;
}

export function targetPlaces(t: RedisTarget): TargetPlaces {
  if (t.kind === 'cluster') return { kind: t.kind, tls: t.tls, nodes: t.seeds, db: 0 };
  const u = new URL(t.url);
  return {
    kind: t.kind,
    tls: u.protocol === 'rediss:',
    nodes: [{ host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(u.port || 6379) }],
    db: Number(/^\/(\d+)/.exec(u.pathname)?.[1] ?? 0),
  };
}

/** The target without its password, for logs. */
export function describeTarget(t: RedisTarget): string {
  if (t.kind === 'cluster') return `cluster ${t.seeds.map((s) => `${s.host}:${s.port}`).join(',')}`;
  try {
    const u = new URL(t.url);
    return u.host;
  } catch {
    return t.url;
  }
}
