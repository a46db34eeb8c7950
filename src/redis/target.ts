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

export function parseRedisTarget(url: string, setting = 'REDIS_SERVER'): RedisTarget {
  const m = /^(rediss?)\+cluster:\/\/(.*)$/.exec(url);
  if (!m) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`${setting} '${url}' is not a URL; ${USAGE}`);
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
      throw new Error(`${setting} '${url}' must start with redis://, rediss:// or redis+cluster://; ${USAGE}`);
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
    if (!n || port < 1 || port > 65535) throw new Error(`${setting} '${url}': cluster node '${node}' is not host:port; ${USAGE}`);
    target.seeds.push({ host: n[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return target;
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
