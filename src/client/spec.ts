/**
 * From what a user types to what total() takes: the window as a duration, and the match spec built either from
 * upstream-style field tokens (`web_client break _ 200`) or from field names (`--by matched --where
 * source=web1`) read off a key pattern such as `<prefix>;<matched>{;<source>};<start_ts>`. Mistakes are
 * SpecErrors that say what to type instead.
 */
import { DURATION_HINT, parseDuration } from '../common/duration.js';
import { SpecError, parseFieldToken, type FieldSpec } from './matchspec.js';

/** The key pattern of the original totalizer, and of every rule that sets none. */
export const DEFAULT_KEYPATTERN = '<prefix>;<matched>;<source>;<start_ts>';

/** Seconds from `3600`, `90s`, `30m`, `1h`, `1d`: a window of some length. */
export function parseWindow(v: string): number {
  const seconds = parseDuration(v);
  if (seconds === null) throw new SpecError(`--window '${v}' is not a duration: use ${DURATION_HINT}`);
  if (seconds <= 0) throw new SpecError(`--window '${v}' is empty: give a window longer than 0 seconds`);
  return seconds;
}

/** Field names of a key pattern, timestamp excluded. */
export function fieldNames(keypattern: string, delimiter: string): string[] {
  const names = keypattern
    .replace(/[{}]/g, '')
    .split(delimiter)
    .map((f) => /^<([A-Za-z_][A-Za-z0-9_]*)>$/.exec(f)?.[1]);
  if (names.some((n) => !n)) throw new SpecError(`--keypattern '${keypattern}': every field must be one <name> separated by '${delimiter}'`);
  if (names[names.length - 1] !== 'start_ts') throw new SpecError(`--keypattern '${keypattern}': the last field must be <start_ts>`);
  return names.slice(0, -1) as string[];
}

export interface SpecRequest {
  prefix: string;
  /** Upstream-style tokens, one per field after the prefix; when given, by/where are not used. */
  tokens: readonly string[];
  keypattern: string;
  delimiter: string;
  /** Field names to group by (default: matched). */
  by?: readonly string[];
  /** `FIELD=VALUE` (or `FIELD=abc*`) filters. */
  where?: readonly string[];
}

export interface BuiltSpec {
  spec: FieldSpec[];
  /** Names of the grouped fields, in order: the table's column headings. */
  breakNames: string[];
}

const isGrouped = (f: FieldSpec) => f.kind === 'break' || (f.kind === 'partial' && f.group);

export function buildSpec(r: SpecRequest): BuiltSpec {
  const names = fieldNames(r.keypattern, r.delimiter);
  if (r.tokens.length > 0) {
    const spec: FieldSpec[] = [{ kind: 'literal', value: r.prefix }, ...r.tokens.map(parseFieldToken)];
    return { spec, breakNames: spec.flatMap((f, i) => (isGrouped(f) ? [names[i] ?? `field${i + 1}`] : [])) };
  }
  if (names[0] !== 'prefix') throw new SpecError(`--keypattern must start with <prefix>`);
  const where = new Map<string, string>();
  for (const w of r.where ?? []) {
    const i = w.indexOf('=');
    if (i <= 0) throw new SpecError(`--where '${w}' is not FIELD=VALUE`);
    where.set(w.slice(0, i), w.slice(i + 1));
  }
  const by = r.by?.length ? r.by : ['matched'];
  for (const n of [...by, ...where.keys()]) if (!names.includes(n)) throw new SpecError(`unknown field '${n}'; the key pattern has ${names.join(', ')}`);
  const spec: FieldSpec[] = names.map((n, i) => {
    if (i === 0) return { kind: 'literal', value: r.prefix };
    if (where.has(n)) return parseFieldToken(where.get(n)!);
    return by.includes(n) ? { kind: 'break' } : { kind: 'ignore' };
  });
  return { spec, breakNames: names.filter((_, i) => isGrouped(spec[i]!)) };
}
