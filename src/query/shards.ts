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
    } else {
      regex += part.replace(REGEX_META, '\\$&');
      glob.push(escapeGlob(Buffer.from(part, 'latin1')));
    }
  }
  if (captures === 0) return null;
  const re = new RegExp(regex + '$');
  return {
    glob: Buffer.concat(glob),
    captures,
    tuplePerKey,
    matchText(key) {
      const m = re.exec(key.toString('latin1'));
      return m ? m.slice(1).map((s) => s ?? '') : null;
    },
  };
}
