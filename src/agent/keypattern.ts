/**
 * Key patterns: literals, substitutions `<name>`, and optional groups `{...}` emitted only when their first
 * substitution has a value. Compiled once at load into a list of parts, so rendering is a few string joins.
 */
export type Part = { lit: string } | { sub: string } | { opt: Array<{ lit: string } | { sub: string }>; first: string };

export interface KeyPattern {
  source: string;
  parts: Part[];
  /** Every substitution name the pattern uses, and the ones it cannot do without. */
  names: Set<string>;
  required: Set<string>;
}

export class KeyPatternError extends Error {}

export function compileKeyPattern(source: string): KeyPattern {
  const parts: Part[] = [];
  const names = new Set<string>();
  const required = new Set<string>();
  let group: Array<{ lit: string } | { sub: string }> | null = null;
  let i = 0;
  const push = (p: { lit: string } | { sub: string }) => {
    const target = group ?? parts;
    const last = target[target.length - 1];
    if ('lit' in p && last && 'lit' in last) last.lit += p.lit;
    else target.push(p);
  };
  while (i < source.length) {
    const c = source[i]!;
    if (c === '<') {
      const end = source.indexOf('>', i + 1);
      const inner = end < 0 ? '' : source.slice(i + 1, end);
      if (end < 0) throw new KeyPatternError(`unbalanced '<' at position ${i}`);
      if (inner.includes('<')) throw new KeyPatternError(`substitution inside a substitution at position ${i}`);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(inner)) throw new KeyPatternError(`bad substitution name '<${inner}>' at position ${i}`);
      names.add(inner);
      if (!group) required.add(inner);
      push({ sub: inner });
      i = end + 1;
    } else if (c === '{') {
      if (group) throw new KeyPatternError(`nested optional group at position ${i}`);
      group = [];
      i++;
    } else if (c === '}') {
      if (!group) throw new KeyPatternError(`unbalanced '}' at position ${i}`);
      const first = group.find((p): p is { sub: string } => 'sub' in p);
      if (!first) throw new KeyPatternError(`optional group without a substitution ending at position ${i}`);
      parts.push({ opt: group, first: first.sub });
      group = null;
      i++;
    } else if (c === '>') {
      throw new KeyPatternError(`unbalanced '>' at position ${i}`);
    } else {
      push({ lit: c });
      i++;
    }
  }
  if (group) throw new KeyPatternError("unbalanced '{': optional group not closed");
  return { source, parts, names, required };
}

/**
 * Renders a key, or returns the name of a required substitution that has no value. `values` is a record
 * or a lookup function (the agent's hot path looks names up without building a merged object per line).
 */
export function renderKey(
  p: KeyPattern,
  values: Readonly<Record<string, string | undefined>> | ((name: string) => string | undefined),
): { key: string } | { missing: string } {
  const get = typeof values === 'function' ? values : (n: string) => values[n];
  let key = '';
  for (const part of p.parts) {
    if ('lit' in part) key += part.lit;
    else if ('sub' in part) {
      const v = get(part.sub);
      if (v === undefined || v === '') return { missing: part.sub };
      key += v;
    } else {
      const head = get(part.first);
      if (head === undefined || head === '') continue;
      for (const q of part.opt) key += 'lit' in q ? q.lit : (get(q.sub) ?? '');
    }
  }
  return { key };
}
