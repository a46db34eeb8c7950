/**
 * The totalling algorithm, with no I/O. Keys are split on the delimiter; the timestamp is the last field and
 * everything before it is the resource. Per resource, buckets are walked newest first: every bucket that
 * starts at or after the window floor counts in full; the first one that starts before it counts pro rata
 * (the share of [start, end) inside the window, `end` being the next newer bucket's start, or now) and the
 * walk stops. Fractions are kept until the end and the group totals rounded.
 */
import { groupOf, type FieldSpec } from './matchspec.js';

export interface ParsedKey {
  key: string;
  fields: string[];
  resource: string;
  start: number;
  group: string;
}

export interface KeyParse {
  keys: ParsedKey[];
  skipped: { key: string; reason: string }[];
  fieldCount: number | null;
}

/**
 * Splits and filters keys. `fieldCount` counts every field including the timestamp; when not given it is
 * inferred from the keys, and keys of mixed counts are an error that names them.
 */
export function parseKeys(keys: readonly string[], spec: readonly FieldSpec[], delimiter: string, fieldCount?: number): KeyParse {
  const split = keys.map((k) => ({ key: k, fields: k.split(delimiter) }));
  let count = fieldCount ?? null;
  if (count === null && split.length > 0) {
    const counts = new Map<number, string>();
    for (const s of split) if (!counts.has(s.fields.length)) counts.set(s.fields.length, s.key);
    if (counts.size > 1) {
      throw new Error(
        `keys have different numbers of fields: ${[...counts].map(([n, k]) => `${n} (e.g. ${k})`).join(', ')}; give the field count (--fields N) or a narrower spec`,
      );
    }
    count = split[0]!.fields.length;
  }
  const out: ParsedKey[] = [];
  const skipped: KeyParse['skipped'] = [];
  for (const { key, fields } of split) {
    if (fields.length !== count) {
      skipped.push({ key, reason: `has ${fields.length} fields, expected ${count}` });
      continue;
    }
    const ts = fields[fields.length - 1]!;
    if (!/^\d+$/.test(ts)) {
      skipped.push({ key, reason: `last field '${ts}' is not a timestamp` });
      continue;
    }
    const body = fields.slice(0, -1);
    const group = groupOf(body, spec, delimiter);
    if (group === null) continue;
    out.push({ key, fields: body, resource: body.join(delimiter), start: Number(ts), group });
  }
  return { keys: out, skipped, fieldCount: count };
}

export interface WeightedBucket {
  key: ParsedKey;
  /** 1 for a bucket inside the window, the in-window share for the one that straddles the floor. */
  weight: number;
  /** Where the bucket ends: the next newer bucket's start, or now. */
  end: number;
}

/** The buckets a total over `window` seconds ending at `now` needs, with their weights. */
export function walkBuckets(keys: readonly ParsedKey[], now: number, window: number): WeightedBucket[] {
  const floor = now - window;
  const byResource = new Map<string, ParsedKey[]>();
  for (const k of keys) {
    const list = byResource.get(k.resource);
    if (list) list.push(k);
    else byResource.set(k.resource, [k]);
  }
  const out: WeightedBucket[] = [];
  for (const list of byResource.values()) {
    list.sort((a, b) => b.start - a.start);
    let end = now;
    for (const k of list) {
      if (k.start >= floor) {
        out.push({ key: k, weight: 1, end });
        end = k.start;
        continue;
      }
      const span = end - k.start;
      if (span > 0 && end > floor) out.push({ key: k, weight: (end - floor) / span, end });
      break;
    }
  }
  return out;
}
