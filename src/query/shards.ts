/**
 * SHARDS/SHGET patterns: a single `*` is a wildcard that captures; a run of two or more is a wildcard
 * that does not. Redis receives the pattern with star runs collapsed to one `*` and the literal parts
 * glob-escaped; every returned key is then matched with the literal parts taken literally (a key may
 * hold `.`, `(`, `+`, `?`, ...), and the captures form the shard tuple.
 */
export interface ShardPattern {
  /** MATCH argument for SCAN. */
  glob: Buffer;
  /** The captured parts as latin1 strings (one char per byte), or null when the key does not match. */
  matchText(key: Buffer): string[] | null;
  /** The same captures as views of the key's bytes (no copy, no string), or null. */
  match(key: Buffer): Buffer[] | null;
  /**
   * The same captures as offsets into the key, capture c at [out[2c], out[2c + 1]), with no object made (a listing
   * page of hundreds of keys); false when the key does not match. `out` holds 2 × captures numbers.
   */
  matchInto(key: Buffer, out: Int32Array): boolean;
  captures: number;
  /** No non-capturing wildcard: every key is a tuple of its own, so a listing has as many records as keys. */
  tuplePerKey: boolean;
}

import { escapeGlob } from './glob.js';

const REGEX_META = /[\\^$.*+?()[\]{}|/-]/g;

/** Returns null when the pattern has no capturing `*` (a syntax error for shards/shget). */
export function compileShardPattern(pattern: Buffer): ShardPattern | null {
  // latin1 maps each byte to one UTF-16 unit, so the regex works on raw bytes.
  const text = pattern.toString('latin1');
  const parts = text.split(/(\*+)/);
  // The literal parts around the wildcards (literals[0] before the first, the last after the last), and which capture.
  const literals: Buffer[] = [Buffer.alloc(0)];
  const captured: boolean[] = [];
  let regex = '^';
  const glob: Buffer[] = [];
  let captures = 0;
  let tuplePerKey = true;
  for (const part of parts) {
    if (part.length === 0) continue;
    if (part[0] === '*') {
      if (part.length === 1) {
        regex += '([\\s\\S]*)';
        captures++;
      } else {
        regex += '[\\s\\S]*';
        tuplePerKey = false;
      }
      glob.push(Buffer.from('*'));
      captured.push(part.length === 1);
      literals.push(Buffer.alloc(0));
    } else {
      literals[literals.length - 1] = Buffer.from(part, 'latin1');
      regex += part.replace(REGEX_META, '\\$&');
      glob.push(escapeGlob(Buffer.from(part, 'latin1')));
    }
  }
  if (captures === 0) return null;
  const re = new RegExp(regex + '$');
  // match() reads its offsets back before it returns: one array serves every call.
  const offsets = new Int32Array(2 * captures);
  return {
    glob: Buffer.concat(glob),
    captures,
    tuplePerKey,
    matchText(key) {
      const m = re.exec(key.toString('latin1'));
      return m ? m.slice(1).map((s) => s ?? '') : null;
    },
    match(key) {
      const at = offsets;
      if (!capturesAt(key, literals, captured, at)) return null;
      const out: Buffer[] = [];
      for (let c = 0; c < captures; c++) out.push(key.subarray(at[2 * c], at[2 * c + 1]));
      return out;
    },
    matchInto: (key, out) => capturesAt(key, literals, captured, out),
  };
}

/** Whether key[at, at + lit.length) is lit. */
function isAt(key: Buffer, at: number, lit: Buffer): boolean {
  for (let i = 0; i < lit.length; i++) if (key[at + i] !== lit[i]) return false;
  return true;
}

/** Where each literal was placed by the last capturesAt (it runs to the end without yielding, so one array serves). */
let placed = new Int32Array(16);

/**
 * The regex's match without the regex: its wildcards are greedy, so each literal sits as far right as the literals
 * after it allow. Placed from the last literal (at the key's end) back to the first (at its start), each at its
 * rightmost place that ends before the next one starts; the wildcards are the gaps, and the captured ones go to
 * `out` as start and end offsets.
 */
function capturesAt(key: Buffer, literals: readonly Buffer[], captured: readonly boolean[], out: Int32Array): boolean {
  const n = captured.length;
  const first = literals[0]!;
  if (!isAt(key, 0, first)) return false;
  if (placed.length <= n) placed = new Int32Array(2 * (n + 1));
  let limit = key.length;
  for (let i = n; i >= 1; i--) {
    const lit = literals[i]!;
    // The last literal ends the key; the others may end anywhere before the next begins.
    let at = limit - lit.length;
    if (i === n) {
      if (at < first.length || !isAt(key, at, lit)) return false;
    } else {
      while (at >= first.length && !isAt(key, at, lit)) at--;
      if (at < first.length) return false;
    }
    placed[i] = at;
    limit = at;
  }
  let from = first.length;
  for (let i = 1, c = 0; i <= n; i++) {
    if (captured[i - 1]) {
      out[c++] = from;
      out[c++] = placed[i]!;
    }
    from = placed[i]! + literals[i]!.length;
  }
  return true;
}
