/**
 * Writes a flush to Redis, applying every increment at most once. Each share of a batch (the whole batch
 * on one Redis; one share per hash slot on a cluster, whose scripts cannot span slots) goes as one Lua
 * script: INCRBY + EXPIRE per key, plus a token key holding the sequence number of the last share applied
 * for that slot by this agent process. A share whose reply never came (a timeout, a lost connection) is
 * in doubt: Redis may still apply it later. It is retried exactly as it was, with its sequence number, and
 * the script skips a share whose number the token already holds, so a late original and its retry count
 * once. Until a slot's share in doubt is settled, new increments for that slot stay pending in the agent.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import calculateSlot from 'cluster-key-slot';
import type { Logger } from '../common/log.js';
import { MAX_UNITS } from '../common/measure.js';
import { CLUSTER_SLOTS, connectRedis, type Connection } from '../redis/connection.js';
import { AGENT_KEY_PREFIX } from '../redis/exposed.js';
import type { Redis } from 'ioredis';
import type { BatchWriter, Pending, WriteResult } from './aggregator.js';
import type { AgentStats } from './stats.js';

const TIMEOUT_MS = 5000;
/** Token keys start with this; they hold sequence numbers, not counts. */
export const TOKEN_PREFIX = `${AGENT_KEY_PREFIX}applied:`;
/** How long a token outlives its agent process's last write: a share in doubt longer than this may count twice. */
const TOKEN_TTL_S = 86_400;

/**
 * KEYS[1]: the token; KEYS[2..]: buckets. ARGV[1]: the share's sequence number; then per bucket its measure
 * (c count, s sum, x max, m min), lines, units and TTL. Returns {0} when the share was applied before, else
 * {1, indexes of buckets Redis refused}: another type, a value of another shape, or a sum past ±2^53.
 * Sums and extremes are read and written as text of whole numbers (common/measure.ts), which Lua's doubles
 * hold exactly up to 2^53. Nothing in it may raise an error: Redis would keep the writes made before it.
 */
const APPLY_ONCE = `
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local seq = tonumber(ARGV[1])
if last >= seq then return {0} end
local out = {1}
for i = 2, #KEYS do
  local a = 4 * i - 6
  local kind, n, s = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local ok = true
  if kind == 'c' then
    local r = redis.pcall('INCRBY', KEYS[i], n)
    ok = not (type(r) == 'table' and r.err)
  else
    local cur = redis.pcall('GET', KEYS[i])
    if type(cur) == 'table' and cur.err then
      ok = false
    elseif kind == 's' then
      local cs, cn = 0, 0
      if cur then
        local ms, mn = string.match(cur, '^(%-?%d+) (%d+)$')
        cs, cn = tonumber(ms), tonumber(mn)
      end
      if cs == nil or math.abs(cs + s) > ${MAX_UNITS} then ok = false
      else redis.call('SET', KEYS[i], string.format('%.0f %.0f', cs + s, cn + n)) end
    else
      local cv = nil
      if cur then cv = tonumber(string.match(cur, '^%-?%d+$')) end
      if cur and cv == nil then ok = false
      elseif cv == nil or (kind == 'x' and s > cv) or (kind == 'm' and s < cv) then
        redis.call('SET', KEYS[i], string.format('%.0f', s))
      end
    end
  end
  if ok then redis.call('EXPIRE', KEYS[i], ARGV[a + 3]) else out[#out + 1] = i - 2 end
end
redis.call('SET', KEYS[1], seq, 'EX', ${TOKEN_TTL_S})
return out
`;

const MEASURE_CODE = { count: 'c', sum: 's', max: 'x', min: 'm' } as const;

/** The agent's connection: shares in doubt are retried and pending counts held while Redis is away. */
export function connectAgentRedis(url: string, log: Logger): Connection {
  const conn = connectRedis(url, { timeoutMs: TIMEOUT_MS, setting: 'redis', log, whileDown: '; holding counts until it is back' });
  conn.client.defineCommand('applyOnce', { lua: APPLY_ONCE });
  return conn;
}

/** Applies one share; resolves with the keys Redis refused, or null when it had been applied before. */
export type ApplyShare = (group: number, keys: string[], batch: Map<string, Pending>, seq: number) => Promise<string[] | null>;

interface Share {
  seq: number;
  keys: string[];
  batch: Map<string, Pending>;
  increments: number;
}

const incrementsOf = (keys: string[], batch: Map<string, Pending>) => keys.reduce((a, k) => a + batch.get(k)!.n, 0);

/** The at-most-once bookkeeping, apart from Redis: shares in doubt per group, retried before anything new. */
export class OnceWriter implements BatchWriter {
  private seq = 0;
  private readonly doubtful = new Map<number, Share>();

  constructor(
    private readonly apply: ApplyShare,
    private readonly groupOf: (key: string) => number,
    /** Called for each share sent again (after no reply, or no confirmation). */
    private readonly onResend: () => void = () => undefined,
  ) {}

  /** Increments sent whose outcome is not known yet. */
  get inDoubt(): number {
    let n = 0;
    for (const s of this.doubtful.values()) n += s.increments;
    return n;
  }

  get keysInDoubt(): number {
    let n = 0;
    for (const s of this.doubtful.values()) n += s.keys.length;
    return n;
  }

  /** Forgets the shares in doubt (at shutdown); returns their increments. */
  abandon(): number {
    const n = this.inDoubt;
    this.doubtful.clear();
    return n;
  }

  async write(batch: Map<string, Pending>): Promise<WriteResult> {
    const result: WriteResult = { written: 0, refused: [], refusedIncrements: 0, unwritten: [], inDoubt: 0 };
    const settle = async (group: number, share: Share) => {
      try {
        const refused = (await this.apply(group, share.keys, share.batch, share.seq)) ?? [];
        this.doubtful.delete(group);
        const lost = incrementsOf(refused, share.batch);
        result.written += share.increments - lost;
        result.refusedIncrements += lost;
        result.refused.push(...refused);
      } catch (e) {
        this.doubtful.set(group, share);
        result.error ??= (e as Error).message;
      }
    };
    // Earlier shares in doubt first, each exactly as it was sent.
    await Promise.all(
      [...this.doubtful].map(([group, share]) => {
        this.onResend();
        return settle(group, share);
      }),
    );
    const groups = new Map<number, string[]>();
    for (const key of batch.keys()) {
      const group = this.groupOf(key);
      // A group with a share still in doubt takes nothing new: its keys stay pending, never sent.
      if (this.doubtful.has(group)) result.unwritten.push(key);
      else {
        const keys = groups.get(group);
        if (keys) keys.push(key);
        else groups.set(group, [key]);
      }
    }
    // A number only when something new is sent; -1 matches no share.
    const seq = groups.size > 0 ? ++this.seq : -1;
    await Promise.all([...groups].map(([group, keys]) => settle(group, { seq, keys, batch, increments: incrementsOf(keys, batch) })));
    for (const share of this.doubtful.values()) if (share.seq === seq) result.inDoubt += share.increments;
    return result;
  }
}

/** The client once connectAgentRedis has defined the script on it. */
type WithApplyOnce = { applyOnce(numKeys: number, ...args: (string | number)[]): Promise<number[]> };

/** Hash tags that put a token key into each slot, found once: the token must share its slot's keys. */
let slotTags: string[] | undefined;
function tagForSlot(slot: number): string {
  if (!slotTags) {
    const tags = new Array<string>(CLUSTER_SLOTS);
    let found = 0;
    for (let i = 0; found < CLUSTER_SLOTS; i++) {
      const tag = i.toString(36);
      const s = calculateSlot(tag);
      if (tags[s] === undefined) {
        tags[s] = tag;
        found++;
      }
    }
    slotTags = tags;
  }
  return slotTags[slot]!;
}

/** Replicas that must confirm each write (WAIT), and how long to wait. */
export interface Confirmation {
  replicas: number;
  timeoutMs: number;
}

/** Thrown when the replicas did not confirm a write in time: the share stays in doubt and is sent again. */
export class UnconfirmedError extends Error {}

/** How often the master is asked (ROLE) how many replicas it has connected. */
const ROLE_EVERY_MS = 1000;

/**
 * Whether the write just applied (or found applied) reached the replicas: WAIT on the same connection (it waits
 * for every write this connection made) for `c.replicas` of them, or for as many as the master has connected
 * (ROLE, asked at most once a second) when that is fewer. With none connected, the master alone confirms it, and
 * that is counted; a write the replicas do not confirm in time is kept in doubt and sent again.
 */
function confirmer(redis: Redis, c: Confirmation, stats: AgentStats): () => Promise<void> {
  let known: { connected: number; at: number } | null = null;
  const connectedReplicas = async () => {
    if (!known || Date.now() - known.at > ROLE_EVERY_MS) {
      const role = await redis.role();
      known = { connected: role[0] === 'master' && Array.isArray(role[2]) ? role[2].length : 0, at: Date.now() };
    }
    return known.connected;
  };
  return async () => {
    const want = Math.min(c.replicas, await connectedReplicas());
    if (want === 0) {
      stats.batches_master_only++;
      return;
    }
    const acked = Number(await redis.wait(want, c.timeoutMs));
    if (acked >= want) {
      if (want < c.replicas) stats.batches_master_only++;
      else stats.batches_confirmed++;
      return;
    }
    known = null;
    stats.batches_unconfirmed++;
    throw new UnconfirmedError(
      `written to the master, confirmed by ${acked} of its ${want} connected replica(s) within ${c.timeoutMs} ms (wait_replicas ${c.replicas}); kept to send again`,
    );
  };
}

export function redisBatchWriter(conn: Connection, stats: AgentStats, confirmation?: Confirmation): OnceWriter {
  const r = conn.client as unknown as WithApplyOnce;
  const cluster = conn.isCluster;
  // One token per agent process (and per slot on a cluster): workers and restarts never share one.
  const instance = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const confirm = confirmation && confirmation.replicas > 0 ? confirmer(conn.client as Redis, confirmation, stats) : null;
  const apply: ApplyShare = async (group, keys, batch, seq) => {
    const token = cluster ? `${TOKEN_PREFIX}{${tagForSlot(group)}}:${instance}` : `${TOKEN_PREFIX}${instance}`;
    const args: (string | number)[] = [token, ...keys, seq];
    for (const k of keys) {
      const p = batch.get(k)!;
      args.push(MEASURE_CODE[p.measure], p.n, p.s, p.ttl);
    }
    const out = await r.applyOnce(keys.length + 1, ...args);
    // Applied now or before: either way it counts once the replicas have it (the token replicates with it).
    if (confirm) await confirm();
    if (out[0] === 0) return null;
    return out.slice(1).map((i) => keys[i]!);
  };
  return new OnceWriter(
    apply,
    (key) => conn.slotOf(key),
    () => stats.batches_resent++,
  );
}
