/**
 * Where the counters live: one Redis (`redis://host:port[/db]`, `rediss://` for TLS), a Redis Cluster
 * (`redis+cluster://[user:password@]host:port,host:port,...`, `rediss+cluster://` for TLS), given by any
 * of its nodes (the rest are discovered from CLUSTER SLOTS), or a master watched by Redis Sentinel
 * (`redis+sentinel://[user:password@]host:port,host:port,.../<master name>[/db][?sentinelPassword=...]`,
 * `rediss+sentinel://` for TLS): the sentinels name the master, and name the next one after a failover.
 */

export interface ClusterTarget {
  kind: 'cluster';
  seeds: { host: string; port: number }[];
  username?: string;
  password?: string;
  tls: boolean;
}

export interface SentinelTarget {
  kind: 'sentinel';
  sentinels: { host: string; port: number }[];
  /** The master's name in the sentinels' configuration (`sentinel monitor <name> ...`). */
  name: string;
  db: number;
  /** For the master and its replicas. */
  username?: string;
  password?: string;
  /** For the sentinels themselves (`requirepass` in their configuration), when they ask for one. */
  sentinelPassword?: string;
  tls: boolean;
}

export type RedisTarget = { kind: 'single'; url: string } | ClusterTarget | SentinelTarget;

const USAGE =
  'use redis://host:port[/db] for one Redis, redis+cluster://host:port,host:port for a cluster, or redis+sentinel://host:port,host:port/<master name> for a master watched by Sentinel';

/** The URL with any password replaced by `***`, for messages: a URL that does not parse may still hold one. */
export function redactedUrl(url: string): string {
  return url
    .replace(/^([a-z+]*:\/\/[^/@]*?:)[^/@]*@/i, '$1***@')
    .replace(/^([a-z+]*:\/\/)([^/:@]+)@/i, '$1***@')
    .replace(/([?&]sentinelPassword=)[^&]*/i, '$1***');
}

/** `user:password@` (or `password@`) split off a list of nodes. */
function credentials(rest: string): { rest: string; username?: string; password?: string } {
  const at = rest.lastIndexOf('@');
  if (at < 0) return { rest };
  const auth = rest.slice(0, at);
  const colon = auth.indexOf(':');
  if (colon < 0) return { rest: rest.slice(at + 1), password: decodeURIComponent(auth) };
  return {
    rest: rest.slice(at + 1),
    ...(colon > 0 ? { username: decodeURIComponent(auth.slice(0, colon)) } : {}),
    password: decodeURIComponent(auth.slice(colon + 1)),
  };
}

/** `host:port,host:port` as addresses; `what` names them in the error. */
function nodes(list: string, what: string, setting: string, shown: string): { host: string; port: number }[] {
  return list.split(',').map((node) => {
    const n = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/]+):(\d{1,5})$/.exec(node.trim());
    const port = n ? Number(n[2]) : 0;
    if (!n || port < 1 || port > 65535) throw new Error(`${setting} '${shown}': ${what} '${node}' is not host:port; ${USAGE}`);
    return { host: n[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

function parseSentinel(tls: boolean, body: string, setting: string, shown: string): SentinelTarget {
  const [path, query = ''] = body.split('?', 2) as [string, string?];
  const { rest, username, password } = credentials(path);
  const slash = rest.indexOf('/');
  const [name, db = '0'] =
    slash < 0
      ? ['']
      : rest
          .slice(slash + 1)
          .replace(/\/+$/, '')
          .split('/');
  if (!name)
    throw new Error(`${setting} '${shown}': no master name: end the URL with /<master name>, the name in the sentinels' 'sentinel monitor' line; ${USAGE}`);
  if (!/^\d+$/.test(db)) throw new Error(`${setting} '${shown}': database '${db}' is not a number`);
  const params = new URLSearchParams(query);
  for (const k of params.keys()) if (k !== 'sentinelPassword') throw new Error(`${setting} '${shown}': unknown parameter '${k}' (known: sentinelPassword)`);
  const sentinelPassword = params.get('sentinelPassword');
  return {
    kind: 'sentinel',
    sentinels: nodes(rest.slice(0, slash), 'sentinel', setting, shown),
    name: decodeURIComponent(name),
    db: Number(db),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(sentinelPassword !== null ? { sentinelPassword } : {}),
    tls,
  };
}

export function parseRedisTarget(url: string, setting = 'REDIS_SERVER'): RedisTarget {
  const shown = redactedUrl(url);
  const s = /^(rediss?)\+sentinel:\/\/(.*)$/.exec(url);
  if (s) return parseSentinel(s[1] === 'rediss', s[2]!, setting, shown);
  const m = /^(rediss?)\+cluster:\/\/(.*)$/.exec(url);
  if (!m) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`${setting} '${shown}' is not a URL; ${USAGE}`);
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
      throw new Error(`${setting} '${shown}' must start with redis://, rediss://, redis+cluster:// or redis+sentinel://; ${USAGE}`);
    return { kind: 'single', url };
  }
  const { rest, username, password } = credentials(m[2]!.replace(/\/+$/, ''));
  return {
    kind: 'cluster',
    seeds: nodes(rest, 'cluster node', setting, shown),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    tls: m[1] === 'rediss',
  };
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
  if (t.kind === 'sentinel') return { kind: t.kind, tls: t.tls, nodes: t.sentinels, db: t.db };
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
  if (t.kind === 'sentinel') return `master ${t.name} of sentinels ${t.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
  try {
    const u = new URL(t.url);
    return u.host;
  } catch {
    return t.url;
  }
}
