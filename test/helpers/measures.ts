/**
 * Request lines carrying a size and a duration, the agent rules that total them by every measure, and what those
 * totals must be, computed here from the lines (integers: bytes and milliseconds) and never by the code under test.
 */

/** `<path> <bytes> <seconds> <status>`; bytes is `-` now and then, as Apache writes a response without a body. */
export const REQUEST = '^(\\S+) (\\S+) (\\d+\\.\\d{3}) (\\d{3})$';

/** One totalizer per measure, all on one port: keys `<prefix>;<path>;<source>;<start>` (hits: `<path>,<status>`). */
export const MEASURE_RULES = [
  { name: 'hits', prefix: 'm_hits', matchex: REQUEST, matched: '{1},{4}', columns: ['path', 'status'] },
  { name: 'bytes', prefix: 'm_bytes', matchex: REQUEST, matched: '{1}', measure: 'sum', value: '{2}' },
  { name: 'time', prefix: 'm_time', matchex: REQUEST, matched: '{1}', measure: 'sum', value: '{3}', scale: 3 },
  { name: 'slowest', prefix: 'm_max', matchex: REQUEST, matched: '{1}', measure: 'max', value: '{3}', scale: 3 },
  { name: 'fastest', prefix: 'm_min', matchex: REQUEST, matched: '{1}', measure: 'min', value: '{3}', scale: 3 },
];

export interface Request {
  path: string;
  /** null: `-` in the line, not a number. */
  bytes: number | null;
  ms: number;
  status: string;
}

/** `n` requests from a seeded generator: bytes up to 10^7, durations 0.000 to 9.999 s. */
export function requests(n: number, seed: number): Request[] {
  let s = seed;
  // The high bits of the LCG: its low ones repeat with short periods.
  const rand = (m: number) => ((s = (s * 1103515245 + 12345) % 2147483648), Math.floor((s / 2147483648) * m));
  return Array.from({ length: n }, () => ({
    path: ['/', '/api', '/img/logo.png', '/login'][rand(4)]!,
    bytes: rand(20) === 0 ? null : rand(10_000_001),
    ms: rand(10_000),
    status: ['200', '200', '200', '304', '404', '500'][rand(6)]!,
  }));
}

export const lineOf = (r: Request) => `${r.path} ${r.bytes ?? '-'} ${(r.ms / 1000).toFixed(3)} ${r.status}`;

export interface PathTotals {
  hits: number;
  bytes: number;
  /** Lines whose bytes was a number (the bytes sum's count). */
  sized: number;
  ms: number;
  maxMs: number;
  minMs: number;
}

/** Per path, what the rules must total: in integers, so nothing is rounded on the way. */
export function expectedByPath(rs: readonly Request[]): Map<string, PathTotals> {
  const out = new Map<string, PathTotals>();
  for (const r of rs) {
    let t = out.get(r.path);
    if (!t) out.set(r.path, (t = { hits: 0, bytes: 0, sized: 0, ms: 0, maxMs: -1, minMs: Infinity }));
    t.hits++;
    if (r.bytes !== null) {
      t.bytes += r.bytes;
      t.sized++;
    }
    t.ms += r.ms;
    t.maxMs = Math.max(t.maxMs, r.ms);
    t.minMs = Math.min(t.minMs, r.ms);
  }
  return out;
}

/** Hits per status, all paths together. */
export function expectedByStatus(rs: readonly Request[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rs) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
}
