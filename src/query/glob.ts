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
