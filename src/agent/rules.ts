/**
 * Agent rules: defaults inherited by every rule, validation that names the rule and the problem, and
 * compilation (regex, key pattern, post-processing) done once at load.
 */
import { hostname } from 'node:os';
import { normalizeCidrs } from '../common/cidr.js';
import { DURATION_HINT, parseDuration } from '../common/duration.js';
import type { Measure } from '../common/measure.js';
import { compileKeyPattern, KeyPatternError, renderKey, type KeyPattern } from './keypattern.js';
import { compileMeasure } from './measure.js';

export type PostProc = (match: RegExpExecArray) => Record<string, string | number | undefined> | null | undefined;

/** A rule as written in YAML or a JS module, after defaults are merged in. */
export interface RuleSpec {
  name?: string;
  address?: string;
  port?: number;
  matchex?: string;
  keypattern?: string;
  prefix?: string;
  source?: string;
  ttl?: number | string;
  buckets?: number;
  bucket_alignment?: 'aligned' | 'first-event';
  substitutions?: Record<string, string>;
  matched?: string;
  truncate?: number;
  lowercase?: boolean;
  cut_at?: string;
  postproc?: PostProc;
  /** Senders whose datagrams this rule's listener takes (addresses or address/prefix); others are dropped. */
  allow_from?: string | string[] | null;
  /** What each match adds (measure.ts): count (default), sum, max or min of `value`, kept at `scale` decimals. */
  measure?: string;
  value?: string;
  scale?: number;
  /** Names of the comma-separated parts of `matched` (`[ip, status]`), published so readers can group by them. */
  columns?: string[];
}

const RULE_FIELDS = new Set([
  'name',
  'address',
  'port',
  'matchex',
  'keypattern',
  'prefix',
  'source',
  'ttl',
  'buckets',
  'bucket_alignment',
  'substitutions',
  'matched',
  'truncate',
  'lowercase',
  'cut_at',
  'postproc',
  'allow_from',
  'measure',
  'value',
  'scale',
  'columns',
]);
export const DEFAULT_KEYPATTERN = '<prefix>;<matched>;<source>;<start_ts>';
/** A DNS label holds at most 63 bytes, and a bucket key travels as one label. */
export const MAX_KEY_BYTES = 63;

export interface Rule {
  name: string;
  address: string;
  port: number;
  regex: RegExp;
  keypattern: KeyPattern;
  ttl: number;
  bucketLength: number;
  alignment: 'aligned' | 'first-event';
  /** Substitutions fixed by the configuration (prefix, source, extra values). */
  fixed: Record<string, string>;
  /** Where the source came from: the config, or this machine's short host name (the default). */
  sourceFrom: 'config' | 'host name';
  /** Turns a match into substitutions, or null to ignore the line. */
  extract(m: RegExpExecArray): Record<string, string | undefined> | null;
  /** Senders taken by this rule's listener, in canonical form (`a/n,b/m`); null: every sender. */
  allowFrom: string | null;
  measure: Measure;
  /** Decimal places values are kept at (units of 10^-scale). */
  scale: number;
  /** Names of the comma-separated parts of `matched`; null when not given. */
  columns: string[] | null;
  /** The value's text for a match (the measures other than count). */
  valueOf(m: RegExpExecArray, extracted: Record<string, string | undefined>): string | undefined;
}

export class RuleError extends Error {
  constructor(
    readonly rule: string,
    problem: string,
  ) {
    super(`rule ${rule}: ${problem}`);
  }
}

function declarative(spec: RuleSpec, ruleName: string): (m: RegExpExecArray) => Record<string, string | undefined> {
  const template = spec.matched ?? null;
  if (template !== null && !/\{\d+\}/.test(template))
    throw new RuleError(ruleName, `matched template '${template}' refers to no capture group ({1}, {2}, ...)`);
  // "{1},{2}" → ['', 1, ',', 2, '']: literals at even positions, group numbers at odd ones, split once here.
  const parts = template === null ? null : template.split(/\{(\d+)\}/).map((p, i) => (i % 2 === 1 ? Number(p) : p));
  return (m) => {
    let matched: string | undefined;
    if (parts === null) matched = m.length > 1 ? m[1] : m[0];
    else {
      matched = '';
      for (let i = 0; i < parts.length; i++) matched += i % 2 === 1 ? (m[parts[i] as number] ?? '') : (parts[i] as string);
    }
    if (matched !== undefined) {
      if (spec.cut_at) {
        const i = matched.indexOf(spec.cut_at);
        if (i >= 0) matched = matched.slice(0, i);
      }
      if (spec.lowercase) matched = matched.toLowerCase();
      if (spec.truncate) matched = matched.slice(0, spec.truncate);
    }
    return m.groups ? { ...m.groups, matched } : { matched };
  };
}

export function compileRule(spec: RuleSpec, index: number): Rule {
  const name = spec.name ?? spec.prefix ?? `#${index + 1}`;
  for (const k of Object.keys(spec)) if (!RULE_FIELDS.has(k)) throw new RuleError(name, `unknown field '${k}' (known: ${[...RULE_FIELDS].join(', ')})`);
  if (spec.port === undefined || spec.port === null) throw new RuleError(name, 'no port: set port in the rule or in defaults');
  if (!Number.isInteger(spec.port) || spec.port < 0 || spec.port > 65535) throw new RuleError(name, `port ${String(spec.port)} is not a port number`);
  if (!spec.matchex) throw new RuleError(name, 'no matchex (the regular expression that selects lines)');
  let regex: RegExp;
  try {
    regex = new RegExp(spec.matchex);
  } catch (e) {
    throw new RuleError(name, `bad matchex: ${(e as Error).message}`);
  }
  let keypattern: KeyPattern;
  try {
    keypattern = compileKeyPattern(spec.keypattern ?? DEFAULT_KEYPATTERN);
  } catch (e) {
    if (e instanceof KeyPatternError) throw new RuleError(name, `bad keypattern '${spec.keypattern}': ${e.message}`);
    throw e;
  }
  const ttl = parseDuration(spec.ttl ?? 0) ?? NaN;
  if (!Number.isInteger(ttl) || ttl <= 0)
    throw new RuleError(name, `ttl must be a whole number of seconds above 0 (the maximum reporting window): ${DURATION_HINT}; got ${String(spec.ttl)}`);
  const buckets = spec.buckets ?? 0;
  if (!Number.isInteger(buckets) || buckets < 0 || buckets > ttl)
    throw new RuleError(name, `buckets must be an integer from 0 to ttl, got ${String(spec.buckets)}`);
  const alignment = spec.bucket_alignment ?? 'aligned';
  if (alignment !== 'aligned' && alignment !== 'first-event')
    throw new RuleError(name, `bucket_alignment must be aligned or first-event, got '${String(alignment)}'`);
  if (spec.truncate !== undefined && (!Number.isInteger(spec.truncate) || spec.truncate <= 0))
    throw new RuleError(name, `truncate must be a positive integer, got ${String(spec.truncate)}`);
  if (spec.postproc !== undefined && typeof spec.postproc !== 'function')
    throw new RuleError(name, 'postproc must be a function (match) => object | null; use a .mjs config for it');
  if (spec.postproc && (spec.matched || spec.truncate || spec.lowercase || spec.cut_at))
    throw new RuleError(name, 'postproc and declarative post-processing (matched, truncate, lowercase, cut_at) exclude each other');
  const fixed: Record<string, string> = {};
  if (spec.prefix !== undefined) fixed.prefix = String(spec.prefix);
  // Without a configured source, this machine's short host name tells the servers of a farm apart.
  fixed.source = spec.source !== undefined ? String(spec.source) : hostname().split('.')[0]!;
  for (const [k, v] of Object.entries(spec.substitutions ?? {})) fixed[k] = String(v);
  for (const n of keypattern.required) {
    if (n !== 'matched' && n !== 'start_ts' && !(n in fixed) && !spec.postproc && !regex.source.includes(`(?<${n}>`)) {
      throw new RuleError(
        name,
        `keypattern needs <${n}> but nothing provides it (set ${n === 'prefix' || n === 'source' ? n : `substitutions.${n}`}, a named group (?<${n}>...), or a postproc)`,
      );
    }
  }
  let extract: Rule['extract'];
  if (spec.postproc) {
    const pp = spec.postproc;
    extract = (m) => {
      const r = pp(m);
      if (r === null || r === undefined) return null;
      const out: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(r)) out[k] = v === undefined || v === null ? undefined : String(v);
      return out;
    };
  } else {
    extract = declarative(spec, name);
  }
  const measured = compileMeasure(spec, (problem) => {
    throw new RuleError(name, problem);
  });
  if (spec.columns !== undefined && (!Array.isArray(spec.columns) || !spec.columns.every((c) => typeof c === 'string' && /^[A-Za-z_]\w*$/.test(c))))
    throw new RuleError(name, `columns must be a list of names (letters, digits, _), one per comma-separated part of matched, e.g. [ip, status]`);
  const template = measured.value;
  let allowFrom: string | null = null;
  if (spec.allow_from !== undefined && spec.allow_from !== null && !/^(none|null)$/i.test(String(spec.allow_from))) {
    const list = normalizeCidrs(Array.isArray(spec.allow_from) ? spec.allow_from.join(',') : String(spec.allow_from));
    if (typeof list !== 'string') throw new RuleError(name, `allow_from: ${list.error}`);
    allowFrom = list;
  }
  return {
    name,
    allowFrom,
    address: spec.address ?? '127.0.0.1',
    port: spec.port,
    regex,
    keypattern,
    ttl,
    bucketLength: buckets > 0 ? Math.floor(ttl / buckets) : ttl,
    alignment,
    fixed,
    sourceFrom: spec.source !== undefined ? 'config' : 'host name',
    extract,
    measure: measured.measure,
    scale: measured.scale,
    columns: spec.columns ?? null,
    valueOf: template ? (m) => template(m) : (_, extracted) => extracted.value,
  };
}

/** The key a match adds to, with the value's text for measures other than count. */
export type KeyResult = { key: string; value?: string | undefined } | { missing: string } | { ignored: true };

/**
 * The key one match increments. `matched` is shortened when the key would not fit one DNS label.
 */
export function keyFor(rule: Rule, m: RegExpExecArray, startTs: number): KeyResult {
  const extracted = rule.extract(m);
  if (extracted === null) return { ignored: true };
  let matched = extracted.matched;
  const start = String(startTs);
  // Extracted values win over configured ones; start_ts is generated.
  const get = (n: string) => (n === 'matched' ? matched : n === 'start_ts' ? start : Object.hasOwn(extracted, n) ? extracted[n] : rule.fixed[n]);
  let r = renderKey(rule.keypattern, get);
  if ('missing' in r) return r;
  // Keys are latin1 strings: one character per byte.
  const excess = r.key.length - MAX_KEY_BYTES;
  if (excess > 0 && matched && matched.length > excess) {
    matched = matched.slice(0, matched.length - excess);
    r = renderKey(rule.keypattern, get);
    if ('missing' in r) return r;
  }
  return rule.measure === 'count' ? r : { key: r.key, value: rule.valueOf(m, extracted) };
}
