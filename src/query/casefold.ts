/**
 * CASE_FOLDING: resolvers may alter the case of query names (0x20 randomisation, caches keyed
 * case-insensitively), so keys with meaningful case need a way through. `escape` mode carries the case
 * in the label itself: its first three bytes name the escape characters E0 (next byte literal),
 * E1 (next byte upper case) and E2 (next byte lower case).
 */
export const CASE_FOLDINGS = ['none', 'lower', 'upper', 'escape'] as const;
export type CaseFolding = (typeof CASE_FOLDINGS)[number];

const lower = (b: number) => (b >= 0x41 && b <= 0x5a ? b | 0x20 : b);
const upper = (b: number) => (b >= 0x61 && b <= 0x7a ? b & ~0x20 : b);

/** `label` itself when `f` changes no byte (the common case, no copy); otherwise a mapped copy. */
function mapBytes(label: Buffer, f: (b: number) => number): Buffer {
  let i = 0;
  while (i < label.length && f(label[i]!) === label[i]) i++;
  if (i === label.length) return label;
  const out = Buffer.from(label);
  for (; i < out.length; i++) out[i] = f(out[i]!);
  return out;
}

/** Returns the folded key, or null when an escape-mode label is too short to name its escapes. */
export function foldLabel(label: Buffer, mode: CaseFolding): Buffer | null {
  switch (mode) {
    case 'none':
      return label;
    case 'lower':
      return mapBytes(label, lower);
    case 'upper':
      return mapBytes(label, upper);
    case 'escape':
      return unescapeLabel(label);
  }
}

function unescapeLabel(label: Buffer): Buffer | null {
  if (label.length < 3) return null;
  const [e0, e1, e2] = [label[0], label[1], label[2]];
  const out: number[] = [];
  for (let i = 3; i < label.length; i++) {
    const b = label[i]!;
    // An escape byte as the very last byte has nothing to act on and is dropped.
    if (b === e0) {
      if (++i < label.length) out.push(label[i]!);
    } else if (b === e1) {
      if (++i < label.length) out.push(upper(label[i]!));
    } else if (b === e2) {
      if (++i < label.length) out.push(lower(label[i]!));
    } else out.push(b);
  }
  return Buffer.from(out);
}
