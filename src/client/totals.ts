/**
 * The totalling algorithm, with no I/O. Keys are split on the delimiter; the timestamp is the last field and
 * everything before it is the resource. Per resource, buckets are walked newest first: every bucket that
 * starts at or after the window floor counts in full; the first one that starts before it counts pro rata
 * (the share of [start, end) inside the window, `end` being the next newer bucket's start, or now) and the
 * walk stops. Fractions are kept until the end and the group totals rounded.
 */
import type { BucketValue } from '../common/measure.js';
import { groupOf, type FieldSpec } from './matchspec.js';

/** A resource (a key without its timestamp) as every bucket of it shares it: split and grouped once. */
export interface Resource {
  resource: string;
  /** What joins the resource and a bucket's timestamp in its key: the delimiter ('' for a bare timestamp). */
  sep: string;
  /** Fields before the timestamp: a count, not the fields (a million keys are hundreds of thousands of resources). */
  fieldCount: number;
  /** Null when the spec does not select it. */
  group: string | null;
  /** A number of its own, in the order resources are made: buckets are gathered by it without a map. */
  id: number;
}

let resourcesMade = 0;

/** A bucket key: a million keys are a few hundred thousand resources, so the resource is shared, not copied. */
export class ParsedKey {
  constructor(
    readonly res: Resource & { group: string },
    /** The timestamp as the key has it; null when that is String(start). */
    private readonly tsText: string | null,
    readonly start: number,
    /** The bucket's value once read (from a shget listing, or a GET), as numbers: NaN lines while it is not. */
    public n = NaN,
    public s = 0,
  ) {}

  /** Whether the value was read. */
  get valued(): boolean {
    return !Number.isNaN(this.n);
  }

  get value(): BucketValue | undefined {
    return this.valued ? { s: this.s, n: this.n } : undefined;
  }

  set value(v: BucketValue | undefined) {
    this.n = v ? v.n : NaN;
    this.s = v ? v.s : 0;
  }

  /** The key, made when asked: a shget listing gives its parts, and most keys are never named. */
  get key(): string {
    return this.res.resource + this.res.sep + (this.tsText ?? String(this.start));
  }

  get fieldCount(): number {
    return this.res.fieldCount;
  }

  get resource(): string {
    return this.res.resource;
  }

  get group(): string {
    return this.res.group;
  }
}

export interface KeyParse {
  keys: ParsedKey[];
  skipped: { key: string; reason: string }[];
  fieldCount: number | null;
  /** The selected resources, each once: regroup them here, not key by key. */
  resources: (Resource & { group: string })[];
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Resources by their text, each made once. */
export class Resources {
  private readonly byText = new Map<string, Resource>();
  /** A key without a delimiter is a timestamp alone: no fields. */
  readonly bare: Resource;

  constructor(
    private readonly spec: readonly FieldSpec[],
    private readonly delimiter: string,
  ) {
    this.bare = { resource: '', sep: '', fieldCount: 0, group: groupOf([], spec, delimiter), id: resourcesMade++ };
  }

  get all(): Resource[] {
    return [...this.byText.values(), this.bare];
  }

  /** A bucket by its key: split at the last delimiter into resource and timestamp. */
  addKey(b: BucketColumns, key: string): void {
    const cut = key.lastIndexOf(this.delimiter);
    const ts = key.slice(cut + 1);
    b.res.push(cut < 0 ? this.bare : this.of(key.slice(0, cut)));
    b.ts.push(ts);
    b.start.push(isDigits(ts) ? Number(ts) : NaN);
  }

  /** The resource of its text, made (split and grouped) the first time. */
  of(resource: string): Resource {
    let r = this.byText.get(resource);
    if (!r) {
      const fields = resource.split(this.delimiter);
      const group = groupOf(fields, this.spec, this.delimiter);
      this.byText.set(resource, (r = { resource, sep: this.delimiter, fieldCount: fields.length, group, id: resourcesMade++ }));
    }
    return r;
  }
}

/** Buckets as they are read, before the spec and field count select them: column by column. */
export interface BucketColumns {
  res: Resource[];
  /** The timestamp as the key has it; null where that is String(start[i]). */
  ts: (string | null)[];
  /** NaN where the timestamp is not one. */
  start: number[];
  /** Each bucket's value, when the listing carried them: lines (NaN where there is no value) and units. */
  n?: number[];
  s?: number[];
}

/**
 * The buckets of the spec. `fieldCount` counts every field including the timestamp; when not given it is
 * inferred, and keys of mixed counts are an error that names them.
 */
export function selectBuckets(b: BucketColumns, all: Resource[], fieldCount: number | undefined): KeyParse {
  const { res, ts, start, n: lines, s: units } = b;
  const keyOf = (i: number) => res[i]!.resource + res[i]!.sep + (ts[i] ?? String(start[i]));
  let count = fieldCount ?? null;
  if (count === null && res.length > 0) {
    const first = new Map<Resource, number>();
    res.forEach((r, i) => first.has(r) || first.set(r, i));
    const counts = new Map<number, string>();
    for (const [r, i] of first) if (!counts.has(r.fieldCount + 1)) counts.set(r.fieldCount + 1, keyOf(i));
    if (counts.size > 1) {
      throw new Error(
        `keys have different numbers of fields: ${[...counts].map(([n, k]) => `${n} (e.g. ${k})`).join(', ')}; give the field count (--fields N) or a narrower spec`,
      );
    }
    count = counts.keys().next().value!;
  }
  const out: ParsedKey[] = [];
  const skipped: KeyParse['skipped'] = [];
  for (let i = 0; i < res.length; i++) {
    const r = res[i]!;
    if (r.fieldCount + 1 !== count) {
      skipped.push({ key: keyOf(i), reason: `has ${r.fieldCount + 1} fields, expected ${count}` });
      continue;
    }
    if (Number.isNaN(start[i])) {
      skipped.push({ key: keyOf(i), reason: `last field '${ts[i]}' is not a timestamp` });
      continue;
    }
    if (r.group === null) continue;
    out.push(new ParsedKey(r as Resource & { group: string }, ts[i]!, start[i]!, lines?.[i] ?? NaN, units?.[i] ?? 0));
  }
  const resources = all.filter((r): r is Resource & { group: string } => r.group !== null && r.fieldCount + 1 === count);
  return { keys: out, skipped, fieldCount: count, resources };
}

/** Splits and filters keys (see selectBuckets). */
export function parseKeys(keys: readonly string[], spec: readonly FieldSpec[], delimiter: string, fieldCount?: number): KeyParse {
  const resources = new Resources(spec, delimiter);
  const b: BucketColumns = { res: [], ts: [], start: [] };
  for (const key of keys) resources.addKey(b, key);
  return selectBuckets(b, resources.all, fieldCount);
}

export interface WeightedBucket {
  key: ParsedKey;
  /** 1 for a bucket inside the window, the in-window share for the one that straddles the floor. */
  weight: number;
  /** Where the bucket ends: the next newer bucket's start, or now. */
  end: number;
}

/**
 * Each resource's buckets, newest first. Keys of one resource share its object and its id, so they are gathered by a
 * counting sort on the ids (made in a row by one parse): no map, no string hashed again.
 */
export function byResource(keys: readonly ParsedKey[]): ParsedKey[][] {
  if (keys.length === 0) return [];
  let [min, max] = [Infinity, -Infinity];
  for (const k of keys) {
    if (k.res.id < min) min = k.res.id;
    if (k.res.id > max) max = k.res.id;
  }
  const span = max - min + 1;
  if (!(span <= 4 * keys.length + 16)) {
    // Keys of parses far apart (not made by one parse): by identity.
    const lists = new Map<Resource, ParsedKey[]>();
    for (const k of keys) {
      const list = lists.get(k.res);
      if (list) list.push(k);
      else lists.set(k.res, [k]);
    }
    return [...lists.values()].map((l) => l.sort((a, b) => b.start - a.start));
  }
  const start = new Uint32Array(span + 1);
  for (const k of keys) start[k.res.id - min + 1]!++;
  for (let i = 0; i < span; i++) start[i + 1]! += start[i]!;
  const place = start.slice(0, span);
  const sorted = new Array<ParsedKey>(keys.length);
  for (const k of keys) sorted[place[k.res.id - min]!++] = k;
  const lists: ParsedKey[][] = [];
  for (let i = 0; i < span; i++) {
    if (start[i] === start[i + 1]) continue;
    const list = sorted.slice(start[i], start[i + 1]);
    list.sort((x, y) => y.start - x.start);
    lists.push(list);
  }
  return lists;
}

/** The buckets a total over `window` seconds ending at `now` needs, with their weights. */
export function walkBuckets(keys: readonly ParsedKey[], now: number, window: number): WeightedBucket[] {
  const out: WeightedBucket[] = [];
  walkEach(byResource(keys), now, window, (key, weight, end) => out.push({ key, weight, end }));
  return out;
}

/** The same walk over resources' buckets (byResource), each bucket given to `visit` as found: no bucket object made. */
export function walkEach(lists: readonly ParsedKey[][], now: number, window: number, visit: (k: ParsedKey, weight: number, end: number) => void): void {
  const floor = now - window;
  for (const list of lists) {
    let end = now;
    for (const k of list) {
      if (k.start >= floor) {
        visit(k, 1, end);
        end = k.start;
        continue;
      }
      const span = end - k.start;
      if (span > 0 && end > floor) visit(k, (end - floor) / span, end);
      break;
    }
  }
}
