/**
 * Match specs: one field spec per key field from the left (the trailing timestamp is implicit).
 * A literal must equal the field; `break` groups by it; `ignore` accepts anything; a partial (`abc*` grouped,
 * `abc**` not grouped) is a pattern with one wildcard. Fields past the end of the spec are ignored.
 */
import { escapeGlobText } from '../query/glob.js';

export type FieldSpec =
  { kind: 'literal'; value: string } | { kind: 'break' } | { kind: 'ignore' } | { kind: 'partial'; before: string; after: string; group: boolean };

export class SpecError extends Error {}

/** Upstream style: a string is a literal (or a partial when it holds `*`), null is a break. */
export function fieldSpec(v: string | null | FieldSpec): FieldSpec {
  if (v === null) return { kind: 'break' };
  if (typeof v !== 'string') return v;
  const m = /^([^*]*)(\*{1,})([^*]*)$/.exec(v);
  if (!m) {
    if (v.includes('*')) throw new SpecError(`field spec '${v}' has more than one wildcard`);
    return { kind: 'literal', value: v };
  }
  return { kind: 'partial', before: m[1]!, after: m[3]!, group: m[2]!.length === 1 };
}

/** CLI tokens: `break`, `ignore` (or `_`), a partial with `*`, anything else a literal. */
export function parseFieldToken(t: string): FieldSpec {
  if (t === 'break') return { kind: 'break' };
  if (t === 'ignore' || t === '_') return { kind: 'ignore' };
  return fieldSpec(t);
}

export function validateSpec(spec: readonly FieldSpec[]): void {
  if (!spec.some((f) => f.kind === 'break' || (f.kind === 'partial' && f.group))) {
    throw new SpecError('the match spec needs at least one break field (a field to group by)');
  }
}

/** KEYS glob: the spec joined with the delimiter, wildcards for open fields, and a trailing `*`. */
export function keysGlob(spec: readonly FieldSpec[], delimiter: string): string {
  const parts = spec.map((f) => {
    switch (f.kind) {
      case 'literal':
        return escapeGlobText(f.value);
      case 'break':
      case 'ignore':
        return '*';
      case 'partial':
        return `${escapeGlobText(f.before)}*${escapeGlobText(f.after)}`;
    }
  });
  return `${parts.join(delimiter)}${delimiter}*`;
}

/**
 * SHGET pattern: like the glob, but every wildcard a single capturing `*` (rkvdns matches literal parts
 * literally), so each returned tuple rebuilds its key exactly. `**` never appears: grouping is decided here.
 * `ending`, when given, lists only the buckets of one start time among keys of `fields` fields (timestamp excluded).
 */
export function shgetPattern(
  spec: readonly FieldSpec[],
  delimiter: string,
  ending?: { start: string; fields: number },
): { pattern: string; captures: number; rebuild: (captures: readonly string[]) => string; restCaptured: boolean } {
  const literals: string[] = [''];
  for (let i = 0; i < spec.length; i++) {
    const f = spec[i]!;
    if (f.kind === 'literal') literals[literals.length - 1] += f.value + delimiter;
    else if (f.kind === 'partial') {
      literals[literals.length - 1] += f.before;
      literals.push(f.after + delimiter);
    } else literals.push(delimiter);
  }
  if (ending) {
    // A capture for each field past the spec, then the start time itself.
    for (let i = spec.length; i < ending.fields; i++) literals.push(delimiter);
    literals[literals.length - 1] += ending.start;
  } else literals.push(''); // The rest of the key, timestamp included, is one trailing capture.
  const pattern = literals.join('*');
  return {
    pattern,
    captures: literals.length - 1,
    restCaptured: !ending,
    /** The key of a tuple: its first `captures` strings (a shget record's values follow them). */
    rebuild(tuple) {
      let key = literals[0]!;
      for (let i = 0; i < literals.length - 1; i++) key += tuple[i]! + literals[i + 1]!;
      return key;
    },
  };
}

/** Whether a key's fields (timestamp removed) satisfy the spec, and its group (break fields joined). */
export function groupOf(fields: readonly string[], spec: readonly FieldSpec[], delimiter: string): string | null {
  const group: string[] = [];
  for (let i = 0; i < spec.length; i++) {
    const f = spec[i]!;
    const v = fields[i];
    if (v === undefined) return null;
    switch (f.kind) {
      case 'literal':
        if (v !== f.value) return null;
        break;
      case 'break':
        group.push(v);
        break;
      case 'ignore':
        break;
      case 'partial':
        if (v.length < f.before.length + f.after.length || !v.startsWith(f.before) || !v.endsWith(f.after)) return null;
        if (f.group) group.push(v);
        break;
    }
  }
  return group.join(delimiter);
}
