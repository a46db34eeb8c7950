/**
 * Operator descriptors: how many labels each operator takes, how its parameter is parsed, and the
 * read-only Redis plan it produces. Planning does no I/O and is table-tested.
 */
import { foldLabel, type CaseFolding } from './casefold.js';
import { parsePartition, partitionLabel, type Partition } from './partition.js';
import { escapeGlob } from './glob.js';
import { compileShardPattern, type ShardPattern } from './shards.js';

export type Plan =
  | { op: 'get' | 'hkeys' | 'hlen' | 'llen' | 'scard' | 'smembers'; key: Buffer }
  | { op: 'hget'; key: Buffer; field: Buffer }
  | { op: 'lindex'; key: Buffer; index: number }
  | { op: 'lrange'; key: Buffer; start: number; stop: number }
  /** `part`: only the keys of one partition (the optional `<i>of<n>` label). */
  | { op: 'keys' | 'klen' | 'kplen'; glob: Buffer; part?: Partition }
  | { op: 'shards' | 'shget'; pattern: ShardPattern; part?: Partition }
  | IntrospectPlan;

export type IntrospectPlan = { op: 'config' } | { op: 'queues' } | { op: 'stats' };
export type RedisPlan = Exclude<Plan, IntrospectPlan>;

export function isIntrospection(p: Plan): p is IntrospectPlan {
  return p.op === 'config' || p.op === 'queues' || p.op === 'stats';
}

export type PlanError = { error: 'parameter' | 'operand' | 'syntax'; message: string };
/** `id` names the operation and its parameters: equal ids run the same Redis work (for marshalling). */
export type PlanResult = { plan: Plan; id: string } | PlanError;

interface Descriptor {
  /** Labels including the operator label itself. */
  labels: 2 | 3;
  /** Listing operators also take a partition label in front: `<i>of<n>.<pattern>.<op>`. */
  partitionable?: true;
  build(key: Buffer, param: Buffer | undefined, fold: CaseFolding): { plan: Plan } | PlanError;
}

const INTEGER = /^-?\d{1,18}$/;
const RANGE = /^(-?\d{1,18})?:(-?\d{1,18})?$/;

const simple = (op: 'get' | 'hkeys' | 'hlen' | 'llen' | 'scard' | 'smembers'): Descriptor => ({
  labels: 2,
  build: (key) => ({ plan: { op, key } }),
});

const shardOp = (op: 'shards' | 'shget'): Descriptor => ({
  labels: 2,
  partitionable: true,
  build(key) {
    const pattern = compileShardPattern(key);
    return pattern ? { plan: { op, pattern } } : { error: 'syntax', message: `${op} pattern has no capturing '*'` };
  },
});

export const OPERATORS: Readonly<Record<string, Descriptor>> = {
  get: simple('get'),
  hkeys: simple('hkeys'),
  hlen: simple('hlen'),
  llen: simple('llen'),
  scard: simple('scard'),
  smembers: simple('smembers'),
  keys: { labels: 2, partitionable: true, build: (key) => ({ plan: { op: 'keys', glob: key } }) },
  klen: { labels: 2, partitionable: true, build: (key) => ({ plan: { op: 'klen', glob: key } }) },
  kplen: { labels: 2, partitionable: true, build: (key) => ({ plan: { op: 'kplen', glob: Buffer.concat([escapeGlob(key), Buffer.from('*')]) } }) },
  hget: {
    labels: 3,
    build(key, param, fold) {
      const field = foldLabel(param!, fold);
      if (!field || field.length === 0) return { error: 'parameter', message: 'empty hget field after case folding' };
      return { plan: { op: 'hget', key, field } };
    },
  },
  lindex: {
    labels: 3,
    build(key, param) {
      const text = param!.toString('latin1');
      if (!INTEGER.test(text)) return { error: 'syntax', message: `lindex index '${text}' is not an integer` };
      return { plan: { op: 'lindex', key, index: Number(text) } };
    },
  },
  lrange: {
    labels: 3,
    build(key, param) {
      const text = param!.toString('latin1');
      const m = RANGE.exec(text);
      if (!m) return { error: 'syntax', message: `lrange range '${text}' is not of the form start:stop` };
      return { plan: { op: 'lrange', key, start: m[1] ? Number(m[1]) : 0, stop: m[2] ? Number(m[2]) : -1 } };
    },
  },
  shards: shardOp('shards'),
  shget: shardOp('shget'),
};

const INTROSPECTION = new Set(['config', 'queues', 'stats']);

/**
 * Turns the labels left of the zone into a plan. `labels` is in query order: [param.]key.operator.
 * Without `partitions`, a listing takes no partition label, as upstream.
 */
export function planQuery(labels: readonly Buffer[], fold: CaseFolding, partitions = true): PlanResult {
  const opName = labels[labels.length - 1]!.toString('latin1').toLowerCase();
  if (labels.length === 1) {
    if (INTROSPECTION.has(opName)) return { plan: { op: opName } as IntrospectPlan, id: opName };
    if (opName in OPERATORS) return { error: 'parameter', message: `${opName} needs a key label` };
    return { error: 'operand', message: `unknown operator '${opName}'` };
  }
  const d = Object.hasOwn(OPERATORS, opName) ? OPERATORS[opName] : undefined;
  if (!d) return { error: 'operand', message: `unknown operator '${opName}'` };
  const partitioned = partitions && d.partitionable === true && labels.length === 3;
  if (labels.length !== d.labels && !partitioned) {
    return { error: 'parameter', message: `${opName} takes ${d.labels - 1} label(s) before the operator, got ${labels.length - 1}` };
  }
  if (labels.some((l) => l.length === 0)) return { error: 'parameter', message: 'empty label' };
  const key = foldLabel(labels[labels.length - 2]!, fold);
  if (!key || key.length === 0) return { error: 'parameter', message: 'empty key after case folding' };
  const param = d.labels === 3 ? labels[0] : undefined;
  const built = d.build(key, param, fold);
  if ('error' in built) return built;
  if (partitioned) {
    const part = parsePartition(labels[0]!);
    if (typeof part === 'string') return { error: 'syntax', message: part };
    (built.plan as { part?: Partition }).part = part;
    return { plan: built.plan, id: `${opName}\0${key.toString('latin1')}\0${partitionLabel(part)}` };
  }
  return { plan: built.plan, id: `${opName}\0${key.toString('latin1')}\0${param?.toString('latin1') ?? ''}` };
}
