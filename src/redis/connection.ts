/**
 * One connection to the Redis that holds the counters, for rkvdns and the agent alike: one server or a cluster
 * (see target.ts for the URLs), built with the same options for both programs, and with the few things that
 * differ between the two shapes answered here (the slot of a key, the nodes to scan, commands queued), so no
 * caller has to tell them apart.
 *
 * The connection fails fast while Redis is away (no offline queue, one retry, a command timeout): rkvdns
 * answers SERVFAIL in about a second instead of hanging, and the agent holds its counts. It reconnects on its
 * own when Redis returns. No ready check: it would send INFO, which a read-only ACL user (`-@dangerous`) may
 * not run.
 */
import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from '../common/log.js';
import { ReadPipe, pipeTarget, reconnectDelay } from './pipe.js';
import { plainRedisError } from './errors.js';
import { describeTarget, parseRedisTarget, type ClusterTarget, type RedisTarget, type SentinelTarget } from './target.js';

/** Hash slots of a Redis Cluster. */
export const CLUSTER_SLOTS = 16384;

export interface ConnectionOptions {
  /** Per-command timeout; the connect timeout is at least a second. */
  timeoutMs: number;
  log: Logger;
  /** The setting the URL came from, named in errors (REDIS_SERVER, redis). */
  setting?: string;
  /** Let concurrent commands share round trips (rkvdns's many small reads); the agent sends scripts instead. */
  autoPipelining?: boolean;
  /** Single-key reads on a pipelined connection of their own (pipe.ts), where the target is one server. */
  pipelinedReads?: boolean;
  /** What the program does while Redis is away, appended to the "connection lost" line. */
  whileDown?: string;
  /** Behind Sentinel: read from the master (default) or from one of its replicas (rkvdns's READ_FROM). */
  readFrom?: 'master' | 'replica';
}

export interface Connection {
  readonly target: RedisTarget;
  /** The ioredis client, for the modules that send commands (reader.ts, the agent's writer). */
  readonly client: Redis | Cluster;
  readonly isCluster: boolean;
  /** The pipelined connection for single-key reads, when asked for and the target is one server; else null. */
  readonly reads: ReadPipe | null;
  /** The hash slot of a key on a cluster; 0 on one server, where every key shares one. */
  slotOf(key: Buffer | string): number;
  /** The nodes a SCAN must visit to see every key: the server itself, or each master once. */
  scanNodes(): Redis[];
  /** Commands written but not yet answered, for queues.<zone>. */
  queued(): number;
  /** Why Redis cannot serve now (a PING to the server, or to every master of a cluster, failed), or null. */
  unreachable(): Promise<string | null>;
  /** Behind Sentinel, the server the sentinels named last (`host:port`) and the role read from; else null. */
  sentinelServer(): { at: string; role: 'master' | 'replica' } | null;
  /** Resolves when connected; rejects (and keeps retrying) when Redis is not reachable. */
  connect(): Promise<void>;
  disconnect(): void;
}

function commandOptions(timeoutMs: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    enableReadyCheck: false,
    maxRetriesPerRequest: 1,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 1000),
    lazyConnect: true,
  };
}

function clusterOptions(target: ClusterTarget, timeoutMs: number, autoPipelining: boolean): ClusterOptions {
  return {
    enableOfflineQueue: false,
    enableReadyCheck: false,
    enableAutoPipelining: autoPipelining,
    lazyConnect: true,
    // A slot whose master is down is retried briefly, then the command fails and the caller decides.
    retryDelayOnClusterDown: 100,
    retryDelayOnFailover: 100,
    clusterRetryStrategy: reconnectDelay,
    // A master that restarts at the same address is reconnected, not dropped from the pool until a MOVED.
    clusterNodeRetryStrategy: reconnectDelay,
    slotsRefreshTimeout: Math.max(timeoutMs, 1000),
    redisOptions: {
      ...(target.username !== undefined ? { username: target.username } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
      ...commandOptions(timeoutMs),
    },
  };
}

/** Logs a lost connection once (not every retry) and its return. */
function watch(client: Redis | Cluster, where: string, log: Logger, whileDown: string): void {
  let down = false;
  client.on('error', (e: Error) => {
    if (!down) log.warn(`redis ${where}: ${plainRedisError(e.message)}${whileDown}`);
    down = true;
  });
  client.on('ready', () => {
    if (down) log.info(`redis ${where}: connected again`);
    down = false;
  });
}

/** Commands written to a node and awaiting its replies (ioredis's declared `commandQueue`). */
const queuedOn = (r: Redis) => r.commandQueue.length;

/**
 * The masters that own the slots, each once. A listing from fewer than all of them would be silently
 * short, so a slot without a master, or a master the client is not connected to, is an error (SERVFAIL)
 * and asks for a fresh slot table.
 */
function slotOwners(cluster: Cluster): Redis[] {
  const pool = new Map(cluster.nodes('master').map((n) => [`${n.options.host}:${n.options.port}`, n]));
  const owners = new Map<string, Redis>();
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) {
    const owner = cluster.slots[slot]?.[0];
    const node = owner === undefined ? undefined : (owners.get(owner) ?? pool.get(owner));
    if (!node) {
      void cluster.refreshSlotsCache();
      throw new Error(owner === undefined ? `cluster slot ${slot} has no master` : `cluster master ${owner} (slot ${slot}) is not connected`);
    }
    owners.set(owner!, node);
  }
  return [...owners.values()];
}

function sentinelOptions(target: SentinelTarget, o: ConnectionOptions): RedisOptions {
  return {
    sentinels: target.sentinels,
    name: target.name,
    role: o.readFrom === 'replica' ? 'slave' : 'master',
    db: target.db,
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
    ...(target.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    // Told of a failover by the sentinels (+switch-master) rather than finding out from a failed command.
    failoverDetector: true,
    sentinelRetryStrategy: reconnectDelay,
    sentinelCommandTimeout: Math.max(o.timeoutMs, 1000),
    ...commandOptions(o.timeoutMs),
    enableAutoPipelining: o.autoPipelining ?? false,
    retryStrategy: reconnectDelay,
  };
}

/**
 * Behind Sentinel, the server a connection reached: logged once when it changes (a failover followed), with
 * its role, for the operator who wants to know where the counts now go.
 */
function watchServer(redis: Redis, target: SentinelTarget, o: ConnectionOptions, onServer: (at: string) => void): void {
  let last: string | null = null;
  redis.on('ready', () => {
    const at = `${redis.stream?.remoteAddress ?? '?'}:${redis.stream?.remotePort ?? '?'}`;
    const role = o.readFrom === 'replica' ? 'a replica' : 'the master';
    if (last === null) o.log.info(`redis: sentinels name ${at} as ${role} of ${target.name}`);
    else if (last !== at) o.log.warn(`redis: failover followed: ${role} of ${target.name} is now ${at} (was ${last})`);
    last = at;
    onServer(at);
  });
}

export function connectRedis(url: string, o: ConnectionOptions): Connection {
  const target = parseRedisTarget(url, o.setting);
  let client: Redis | Cluster;
  let shape: Pick<Connection, 'isCluster' | 'slotOf' | 'scanNodes' | 'queued'>;
  let reads: ReadPipe | null = null;
  let server: string | null = null;
  if (target.kind === 'cluster') {
    const cluster = new Cluster(target.seeds, clusterOptions(target, o.timeoutMs, o.autoPipelining ?? false));
    client = cluster;
    shape = {
      isCluster: true,
      slotOf: (key) => calculateSlot(key),
      scanNodes: () => slotOwners(cluster),
      queued: () => cluster.nodes().reduce((n, r) => n + queuedOn(r), 0),
    };
  } else if (target.kind === 'sentinel') {
    const redis = new Redis(sentinelOptions(target, o));
    client = redis;
    watchServer(redis, target, o, (at) => (server = at));
    shape = { isCluster: false, slotOf: () => 0, scanNodes: () => [redis], queued: () => queuedOn(redis) };
  } else {
    const redis = new Redis(target.url, { ...commandOptions(o.timeoutMs), enableAutoPipelining: o.autoPipelining ?? false, retryStrategy: reconnectDelay });
    client = redis;
    const pipe = o.pipelinedReads ? pipeTarget(target.url) : null;
    if (pipe) reads = new ReadPipe(pipe, { timeoutMs: o.timeoutMs, log: o.log, where: describeTarget(target) });
    shape = { isCluster: false, slotOf: () => 0, scanNodes: () => [redis], queued: () => queuedOn(redis) + (reads?.queued() ?? 0) };
  }
  watch(client, describeTarget(target), o.log, o.whileDown ?? '');
  const c = client;
  const unreachable = async () => {
    try {
      await Promise.all(
        shape.scanNodes().map((n) => {
          // A closed connection would fail the PING with ioredis's words about its offline queue; say it plainly.
          if (n.status !== 'ready') throw new Error(`not connected (${n.status})`);
          return n.ping();
        }),
      );
      if (reads && reads.status !== 'ready') throw new Error(`the read connection is not connected (${reads.status})`);
      return null;
    } catch (e) {
      return `redis ${describeTarget(target)} not reachable: ${plainRedisError((e as Error).message)}`;
    }
  };
  return {
    target,
    client: c,
    reads,
    unreachable,
    sentinelServer: () => (server === null ? null : { at: server, role: o.readFrom === 'replica' ? 'replica' : 'master' }),
    // Both connections start trying at once; the pipe keeps trying on its own when the first attempt fails. The
    // wait is bounded: behind Sentinel the first attempt does not end while no sentinel answers.
    connect: () => {
      const attempt = Promise.all([c.connect(), reads?.connect()]).then(() => undefined);
      const limit = 3000;
      return Promise.race([
        attempt,
        new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`not connected within ${limit} ms (still trying)`)), limit).unref()),
      ]);
    },
    disconnect: () => {
      c.disconnect();
      reads?.disconnect();
    },
    ...shape,
  };
}
