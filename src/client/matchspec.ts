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
): { pattern: string; captures: number; literals: readonly string[]; rebuild: (captures: readonly string[]) => string; restCaptured: boolean } {
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
    /** The text between captures (and before the first, after the last): a key is literals[0] + c[0] + literals[1] + …. */
    literals,
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

/** Whether every character of s is one byte (as TXT strings are read: latin1). */
export function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 255) return false;
  return true;
}

/**
 * groupOf over a resource's bytes (one byte per character, as TXT strings are read): no string per field, the
 * group's text made from its bytes. For a one-byte delimiter and a spec whose texts are all one byte per character.
 */
export class GroupOfBytes {
  /** The field count of the resource last grouped. */
  fields = 0;
  private scratch = Buffer.allocUnsafe(256);
  private readonly texts: { before: Buffer; after: Buffer }[];

  private constructor(
    private readonly spec: readonly FieldSpec[],
    private readonly delimiter: number,
  ) {
    this.texts = spec.map((f) =>
      f.kind === 'literal'
        ? { before: Buffer.from(f.value, 'latin1'), after: Buffer.alloc(0) }
        : f.kind === 'partial'
          ? { before: Buffer.from(f.before, 'latin1'), after: Buffer.from(f.after, 'latin1') }
          : { before: Buffer.alloc(0), after: Buffer.alloc(0) },
    );
  }

  /** Null when the delimiter or a text of the spec is not one byte per character. */
  static of(spec: readonly FieldSpec[], delimiter: string): GroupOfBytes | null {
    const texts = spec.flatMap((f) => (f.kind === 'literal' ? [f.value] : f.kind === 'partial' ? [f.before, f.after] : []));
    if (delimiter.length !== 1 || !isLatin1(delimiter) || !texts.every(isLatin1)) return null;
    return new GroupOfBytes(spec, delimiter.charCodeAt(0));
  }

  /** The group's bytes, of the last resource grouped: bytes[0, the length group() gave). */
  get bytes(): Buffer {
    return this.scratch;
  }

  /** The group of the resource b[from, to) into `bytes`: its length, or -1 when the spec does not select it; the field count in `fields`. */
  group(b: Buffer, from: number, to: number): number {
    const d = this.delimiter;
    let fields = 1;
    for (let i = from; i < to; i++) if (b[i] === d) fields++;
    this.fields = fields;
    if (this.scratch.length < to - from) this.scratch = Buffer.allocUnsafe(2 * (to - from));
    const out = this.scratch;
    let used = 0;
    let grouped = 0;
    let at = from;
    for (let f = 0; f < this.spec.length; f++) {
      if (at > to) return -1;
      let end = at;
      while (end < to && b[end] !== d) end++;
      const kind = this.spec[f]!.kind;
      const { before, after } = this.texts[f]!;
      if (kind === 'literal' || kind === 'partial') {
        const len = end - at;
        if (kind === 'literal' ? len !== before.length : len < before.length + after.length) return -1;
        for (let i = 0; i < before.length; i++) if (b[at + i] !== before[i]) return -1;
        for (let i = 0; i < after.length; i++) if (b[end - after.length + i] !== after[i]) return -1;
      }
      if (kind === 'break' || (kind === 'partial' && (this.spec[f] as { group: boolean }).group)) {
        if (grouped++ > 0) out[used++] = d;
        for (let i = at; i < end; i++) out[used++] = b[i]!;
      }
      at = end + 1;
    }
    return used;
  }
}
