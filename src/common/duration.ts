/**
 * Durations as every program takes them: a number of seconds (`3600`) or a number with a unit (`90s`, `30m`,
 * `1h`, `1d`, `1.5h`). One reader, so that `ttl: 1d` in the agent's rules, `--window 1d` for totalize and
 * `MAX_TTL: 5m` for rkvdns mean the same thing.
 */

const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

export const DURATION_HINT = 'seconds (3600) or 90s, 30m, 1h, 1d';

/** Seconds, or null when `v` is not a duration. */
export function parseDuration(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(v.trim());
  return m ? Number(m[1]) * UNITS[m[2]!]! : null;
}
