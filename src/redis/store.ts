/**
 * The Redis that rkvdns reads: one server or a cluster, behind one small interface. Single-key commands
 * go to `commands` (a cluster routes them by slot); the two operations that span keys are here, because a
 * cluster needs them done its own way: SCAN on every master (a cluster client sends SCAN to one random
 * node), and MGET grouped by slot (a cross-slot MGET is refused).
 *
 * The connection fails fast while Redis is away (no offline queue, one retry, a command timeout) so DNS
 * clients get SERVFAIL in about a second instead of a hang, and reconnects on its own when Redis returns.
 * No ready check: it would send INFO, which a read-only ACL user (`-@dangerous`) may not run.
 */
import { Cluster, Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import type { Logger } from '../common/log.js';
import { fnv1a32 } from '../query/partition.js';
import { describeTarget, parseRedisTarget, type RedisTarget } from './target.js';

export type Commands = Redis | Cluster;

export interface Store {
  readonly commands: Commands;
  readonly target: RedisTarget;
  /** Every key matching the glob, each once; throws TooManyKeysError beyond maxKeys. */
  scan(glob: Buffer, maxKeys: number): Promise<Buffer[]>;
  /** Values in key order; null for a missing key or one of another type. */
  mget(keys: readonly Buffer[]): Promise<(Buffer | null)[]>;
  /** Commands written but not yet answered, for queues.<zone>. */
  queued(): number;
  /** Resolves when connected; rejects (and keeps retrying) when Redis is not reachable. */
  connect(): Promise<void>;
  disconnect(): void;
}

export class TooManyKeysError extends Error {}

// Larger batches cut round trips; Redis still answers each SCAN in about a millisecond.
const SCAN_COUNT = 5000;
const MGET_CHUNK = 500;

/**
 * The distinct keys seen so far, in order, indexed by an open-addressing table of 32-bit FNV-1a hashes
 * (bytes compared only when hashes meet): a million keys cost two typed arrays, not a million strings in a Set.
 */
class SeenKeys {
  readonly keys: Buffer[] = [];
  private hashes = new Uint32Array(1024);
  /** Slot → index + 1 into keys; 0 is empty. */
  private slots = new Uint32Array(2048);

  /** True when the key was not seen before (and is now). */
  add(key: Buffer): boolean {
    const h = fnv1a32(key);
    const mask = this.slots.length - 1;
    let i = h & mask;
    for (let at = this.slots[i]!; at !== 0; i = (i + 1) & mask, at = this.slots[i]!) {
      if (this.hashes[at - 1] === h && this.keys[at - 1]!.equals(key)) return false;
    }
    const n = this.keys.push(key);
    if (n > this.hashes.length) {
      const grown = new Uint32Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[n - 1] = h;
    this.slots[i] = n;
    if (2 * n > this.slots.length) this.rehash();
    return true;
  }

  private rehash(): void {
    this.slots = new Uint32Array(this.slots.length * 2);
    const mask = this.slots.length - 1;
    for (let k = 0; k < this.keys.length; k++) {
      let i = this.hashes[k]! & mask;
      while (this.slots[i] !== 0) i = (i + 1) & mask;
      this.slots[i] = k + 1;
    }
  }
}

/** SCAN one node to the end, adding the keys not seen before to `seen`. */
async function scanNode(node: Redis, glob: Buffer, maxKeys: number, seen: SeenKeys): Promise<void> {
  let cursor = '0';
  do {
    // scanBuffer, not callBuffer: ioredis drops the command name of callBuffer under auto-pipelining.
    // The pattern is sent as a Buffer so binary patterns reach Redis intact.
    const [next, batch] = await node.scanBuffer(cursor, 'MATCH', glob as unknown as string, 'COUNT', SCAN_COUNT);
    cursor = next.toString();
    for (const k of batch) {
      // SCAN may return a key more than once while the keyspace is rehashing (or a slot is migrating).
      if (seen.add(k) && seen.keys.length > maxKeys) throw new TooManyKeysError(`pattern matches more than MAX_KEYS (${maxKeys}) keys`);
    }
  } while (cursor !== '0');
}

async function mgetChunks(commands: Commands, groups: Buffer[][]): Promise<(Buffer | null)[][]> {
  const calls: Promise<(Buffer | null)[]>[] = [];
  for (const g of groups) for (let i = 0; i < g.length; i += MGET_CHUNK) calls.push(commands.mgetBuffer(g.slice(i, i + MGET_CHUNK)));
  return Promise.all(calls);
}

/**
 * Logs a lost connection once (not every retry) and its return; `whileDown` says what the program does
 * meanwhile. Shared by rkvdns and the agent.
 */
export function watchConnection(emitter: Redis | Cluster, where: string, log: Logger, whileDown = ''): void {
  let down = false;
  emitter.on('error', (e: Error) => {
    if (!down) log.warn(`redis ${where}: ${e.message}${whileDown}`);
    down = true;
  });
  emitter.on('ready', () => {
    if (down) log.info(`redis ${where}: connected again`);
    down = false;
  });
}

function singleStore(target: Extract<RedisTarget, { kind: 'single' }>, timeoutMs: number, log: Logger): Store {
  const redis = new Redis(target.url, {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    maxRetriesPerRequest: 1,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 1000),
    retryStrategy: (times) => Math.min(50 * times, 1000),
    lazyConnect: true,
  });
  watchConnection(redis, describeTarget(target), log);
  return {
    commands: redis,
    target,
    async scan(glob, maxKeys) {
      const seen = new SeenKeys();
      await scanNode(redis, glob, maxKeys, seen);
      return seen.keys;
    },
    async mget(keys) {
      return (await mgetChunks(redis, [keys as Buffer[]])).flat();
    },
    queued: () => (redis as unknown as { commandQueue?: { length: number } }).commandQueue?.length ?? 0,
    connect: () => redis.connect(),
    disconnect: () => redis.disconnect(),
  };
}

/** Options shared by rkvdns and the agent for a cluster. */
export function clusterOptions(target: Extract<RedisTarget, { kind: 'cluster' }>, timeoutMs: number) {
  return {
    enableOfflineQueue: false,
    lazyConnect: true,
    // A slot whose master is down is retried briefly, then the command fails and the caller decides.
    retryDelayOnClusterDown: 100,
    retryDelayOnFailover: 100,
    clusterRetryStrategy: (times: number) => Math.min(100 * times, 1000),
    // A master that restarts at the same address is reconnected, not dropped from the pool until a MOVED.
    clusterNodeRetryStrategy: (times: number) => Math.min(100 * times, 1000),
    slotsRefreshTimeout: Math.max(timeoutMs, 1000),
    redisOptions: {
      ...(target.username !== undefined ? { username: target.username } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
      maxRetriesPerRequest: 1,
      commandTimeout: timeoutMs,
      connectTimeout: Math.max(timeoutMs, 1000),
    },
  };
}

/** Hash slots of a Redis Cluster. */
export const CLUSTER_SLOTS = 16384;

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
      cluster.refreshSlotsCache();
      throw new Error(owner === undefined ? `cluster slot ${slot} has no master` : `cluster master ${owner} (slot ${slot}) is not connected`);
    }
    owners.set(owner!, node);
  }
  return [...owners.values()];
}

function clusterStore(target: Extract<RedisTarget, { kind: 'cluster' }>, timeoutMs: number, log: Logger): Store {
  // Auto-pipelining lets concurrent queries share round trips (rkvdns only: the agent sends one script per slot).
  const cluster = new Cluster(target.seeds, { ...clusterOptions(target, timeoutMs), enableAutoPipelining: true });
  watchConnection(cluster, describeTarget(target), log);
  return {
    commands: cluster,
    target,
    async scan(glob, maxKeys) {
      const masters = slotOwners(cluster);
      const seen = new SeenKeys();
      await Promise.all(masters.map((m) => scanNode(m, glob, maxKeys, seen)));
      return seen.keys;
    },
    async mget(keys) {
      const bySlot = new Map<number, number[]>();
      keys.forEach((k, i) => {
        const slot = calculateSlot(k);
        const at = bySlot.get(slot);
        if (at) at.push(i);
        else bySlot.set(slot, [i]);
      });
      const order = [...bySlot.values()];
      const chunks = await mgetChunks(cluster, order.map((idx) => idx.map((i) => keys[i]!)));
      const values = new Array<Buffer | null>(keys.length);
      let c = 0;
      for (const idx of order) {
        for (let start = 0; start < idx.length; start += MGET_CHUNK, c++) {
          chunks[c]!.forEach((v, j) => (values[idx[start + j]!] = v));
        }
      }
      return values;
    },
    queued: () => cluster.nodes().reduce((n, r) => n + ((r as unknown as { commandQueue?: { length: number } }).commandQueue?.length ?? 0), 0),
    connect: () => cluster.connect(),
    disconnect: () => cluster.disconnect(),
  };
}

export function openStore(url: string, timeoutMs: number, log: Logger): Store {
  const target = parseRedisTarget(url);
  return target.kind === 'cluster' ? clusterStore(target, timeoutMs, log) : singleStore(target, timeoutMs, log);
}
