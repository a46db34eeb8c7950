/**
 * Agent configuration from a commented YAML file or a JS module (`export default { ... }`) whose rules may
 * carry a `postproc(match)` function. Defaults are merged into every rule; every problem names the rule.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { descriptionsOf } from './describe.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../common/log.js';
import { parseRedisTarget } from '../redis/target.js';
import { optionalHostPort } from '../common/hostport.js';
import { compileRule, type Rule, type RuleSpec } from './rules.js';

export interface AgentConfig {
  redis: string;
  stats: number;
  log_level: LogLevel;
  log_format: LogFormat;
  /** Pending increments are written at least this often. */
  flush_interval_ms: number;
  /** ...and sooner when this many distinct keys are pending. */
  flush_keys: number;
  /** Distinct keys held while Redis is slow or away; increments for new keys beyond it are dropped and counted. */
  max_pending_keys: number;
  /** Processes reading the same UDP sockets; each aggregates and writes on its own (increments add up). */
  workers: number;
  /**
   * SO_RCVBUF asked for each UDP socket: how much of a burst the kernel holds while the agent is busy. Null (unset):
   * DEFAULT_RECEIVE_BUFFER or the kernel's cap, whichever is less, without a warning.
   */
  receive_buffer_bytes: number | null;
  /** HOST:PORT of the /metrics, /healthz and /readyz listener, or null (off). */
  metrics: string | null;
  /** How long a line cut by a datagram boundary waits for the rest from its sender (reassembly.ts); 0: off. */
  partial_line_timeout_ms: number;
  /** The longest line reassembled; longer ones are dropped and counted. */
  partial_line_max_bytes: number;
  /**
   * Replicas that must confirm a write (Redis WAIT) before it counts as written; 0: the master's reply is enough.
   * Default: 1 behind Sentinel (a failover must not lose what was acknowledged), else 0.
   */
  wait_replicas: number;
  /** How long a write waits for that confirmation before it is kept in doubt and sent again. */
  wait_timeout_ms: number;
  rules: Rule[];
}

const TOP_FIELDS: Record<string, unknown> = {
  redis: 'redis://127.0.0.1:6379',
  stats: 60,
  log_level: 'info',
  log_format: 'text',
  flush_interval_ms: 200,
  flush_keys: 5000,
  max_pending_keys: 100_000,
  workers: 1,
  receive_buffer_bytes: null,
  partial_line_timeout_ms: 2000,
  partial_line_max_bytes: 65_536,
  wait_replicas: null,
  wait_timeout_ms: 1000,
  defaults: {},
  rules: [],
  allow_from: null,
  metrics: null,
};

/** The receive buffer asked for when receive_buffer_bytes is unset. */
export const DEFAULT_RECEIVE_BUFFER = 8 * 1024 * 1024;

export class ConfigError extends Error {}

function intField(raw: Record<string, unknown>, name: string, min: number, max: number): number {
  const v = raw[name] ?? TOP_FIELDS[name];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

export function buildAgentConfig(raw: unknown): AgentConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('the config must be a mapping with a rules list');
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r))
    if (!(k in TOP_FIELDS)) throw new ConfigError(`unknown top-level field '${k}' (known: ${Object.keys(TOP_FIELDS).join(', ')})`);
  const defaults = (r.defaults ?? {}) as RuleSpec;
  if (typeof defaults !== 'object' || Array.isArray(defaults)) throw new ConfigError('defaults must be a mapping of rule fields');
  if (!Array.isArray(r.rules) || r.rules.length === 0) throw new ConfigError('rules must be a non-empty list');
  // The top-level allow_from is every listener's unless a rule (or defaults) sets its own.
  const globalAllow = (r.allow_from ?? null) as RuleSpec['allow_from'];
  const rules = (r.rules as RuleSpec[]).map((spec, i) => {
    if (typeof spec !== 'object' || spec === null) throw new ConfigError(`rule #${i + 1} must be a mapping`);
    return compileRule(
      { allow_from: globalAllow, ...defaults, ...spec, substitutions: { ...(defaults.substitutions ?? {}), ...(spec.substitutions ?? {}) } },
      i,
    );
  });
  // One socket serves every rule on an address:port, so they must agree on who may send to it.
  const listeners = new Map<string, Rule>();
  for (const rule of rules) {
    const id = `${rule.address}:${rule.port}`;
    const first = listeners.get(id);
    if (first && first.allowFrom !== rule.allowFrom)
      throw new ConfigError(`rules ${first.name} and ${rule.name} listen on ${id} with different allow_from; give the listener's rules one list`);
    if (!first) listeners.set(id, rule);
  }
  try {
    descriptionsOf(rules);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const names = new Set<string>();
  for (const rule of rules) {
    if (names.has(rule.name)) throw new ConfigError(`rule ${rule.name}: two rules share this name; give each a distinct name`);
    names.add(rule.name);
  }
  const logLevel = (r.log_level ?? TOP_FIELDS.log_level) as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`log_level must be one of ${LOG_LEVELS.join(', ')}`);
  const logFormat = (r.log_format ?? TOP_FIELDS.log_format) as LogFormat;
  if (!LOG_FORMATS.includes(logFormat)) throw new ConfigError(`log_format must be one of ${LOG_FORMATS.join(', ')}`);
  const redis = String(r.redis ?? TOP_FIELDS.redis);
  let target;
  try {
    target = parseRedisTarget(redis, 'redis');
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const waitReplicas = r.wait_replicas == null ? (target.kind === 'sentinel' ? 1 : 0) : intField(r, 'wait_replicas', 0, 16);
  if (waitReplicas > 0 && target.kind === 'cluster')
    throw new ConfigError('wait_replicas: not for a cluster (each slot has its own master); set 0, and see docs/DEPLOYING.md on persistence');
  const metrics = optionalHostPort(r.metrics);
  if (metrics !== null && typeof metrics !== 'string') throw new ConfigError(`metrics: ${metrics.error}`);
  return {
    redis,
    metrics,
    stats: intField(r, 'stats', 0, 86_400),
    log_level: logLevel,
    log_format: logFormat,
    flush_interval_ms: intField(r, 'flush_interval_ms', 1, 60_000),
    flush_keys: intField(r, 'flush_keys', 1, 10_000_000),
    max_pending_keys: intField(r, 'max_pending_keys', 1, 100_000_000),
    workers: intField(r, 'workers', 1, 256),
    receive_buffer_bytes: r.receive_buffer_bytes == null ? null : intField(r, 'receive_buffer_bytes', 65_536, 1 << 30),
    partial_line_timeout_ms: intField(r, 'partial_line_timeout_ms', 0, 60_000),
    partial_line_max_bytes: intField(r, 'partial_line_max_bytes', 1024, 16 << 20),
    wait_replicas: waitReplicas,
    wait_timeout_ms: intField(r, 'wait_timeout_ms', 10, 60_000),
    rules,
  };
}

export async function loadAgentConfig(path: string): Promise<AgentConfig> {
  let raw: unknown;
  try {
    if (/\.(m?js)$/.test(path)) {
      const mod = (await import(pathToFileURL(resolve(path)).href)) as { default?: unknown };
      raw = mod.default;
    } else {
      raw = parseYaml(readFileSync(path, 'utf8'));
    }
  } catch (e) {
    throw new ConfigError(`cannot load ${path}: ${(e as Error).message}`);
  }
  try {
    return buildAgentConfig(raw);
  } catch (e) {
    throw new ConfigError(`${path}: ${(e as Error).message}`);
  }
}
