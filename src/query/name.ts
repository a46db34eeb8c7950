/** Locates the zone at the right end of a question name; comparisons are ASCII case-insensitive. */

function asciiLower(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b | 0x20 : b;
}

export function labelEqualsIgnoreCase(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (asciiLower(a[i]!) !== asciiLower(b[i]!)) return false;
  return true;
}

export type NamePlace =
  | { kind: 'outside' }
  | { kind: 'apex' }
  /** `labels` are the labels left of the zone, in query order (parameter, key, operator). */
  | { kind: 'inside'; labels: Buffer[] };

export function placeInZone(qname: readonly Buffer[], zone: readonly Buffer[]): NamePlace {
  const n = qname.length - zone.length;
  if (n < 0) return { kind: 'outside' };
  for (let i = 0; i < zone.length; i++) {
    if (!labelEqualsIgnoreCase(qname[n + i]!, zone[i]!)) return { kind: 'outside' };
  }
  return n === 0 ? { kind: 'apex' } : { kind: 'inside', labels: qname.slice(0, n) };
}

/** Presentation form of a name, escaping as zone files do (`\.`, `\;`, `\DDD`), for logs and error texts. */
export function presentName(labels: readonly Buffer[]): string {
  if (labels.length === 0) return '.';
  return labels.map(presentLabel).join('.') + '.';
}

export function presentLabel(l: Buffer): string {
  let s = '';
  for (const b of l) {
    if (b === 0x2e || b === 0x3b || b === 0x5c || b === 0x22 || b === 0x28 || b === 0x29 || b === 0x40 || b === 0x24) s += '\\' + String.fromCharCode(b);
    else if (b > 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += '\\' + b.toString().padStart(3, '0');
  }
  return s;
}
