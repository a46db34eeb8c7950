/** Redis glob patterns (SCAN MATCH): the one list of metacharacters, and escaping a literal so it matches itself. */

/** `*` `?` `[` `]` `\`: the bytes Redis's glob gives a meaning. */
const META = new Set([0x2a, 0x3f, 0x5b, 0x5d, 0x5c]);

export function isGlobMeta(byte: number): boolean {
  return META.has(byte);
}

/** The literal with every metacharacter escaped by a backslash. */
export function escapeGlob(literal: Buffer): Buffer {
  const out: number[] = [];
  for (const b of literal) {
    if (META.has(b)) out.push(0x5c);
    out.push(b);
  }
  return Buffer.from(out);
}

/** escapeGlob for text holding one character per byte (latin1), as the client builds its patterns. */
export function escapeGlobText(literal: string): string {
  return escapeGlob(Buffer.from(literal, 'latin1')).toString('latin1');
}

/**
 * A matcher with Redis's glob semantics (`*`, `?`, `[abc]`, `[a-z]`, `[^a]`, backslash escapes), for keys as
 * bytes: the pattern is compiled once to a regular expression over latin1 text (one character per byte).
 */
export function globMatcher(glob: Buffer): (key: Buffer) => boolean {
  const g = glob.toString('latin1');
  const literal = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  let re = '^';
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '\\' && i + 1 < g.length) re += literal(g[++i]!);
    else if (c === '[') {
      let j = i + 1;
      let cls = '';
      if (g[j] === '^') {
        cls += '^';
        j++;
      }
      for (; j < g.length && g[j] !== ']'; j++) {
        if (g[j] === '\\' && j + 1 < g.length) cls += literal(g[++j]!);
        else if (g[j + 1] === '-' && j + 2 < g.length && g[j + 2] !== ']') {
          cls += `${literal(g[j]!)}-${literal(g[j + 2]!)}`;
          j += 2;
        } else cls += literal(g[j]!);
      }
      // An unclosed class is taken as far as it goes, as Redis does.
      re += cls === '' || cls === '^' ? (cls === '^' ? '[\\s\\S]' : '(?!)') : `[${cls}]`;
      i = j;
    } else re += literal(c);
  }
  const rx = new RegExp(`${re}$`);
  return (key) => rx.test(key.toString('latin1'));
}
