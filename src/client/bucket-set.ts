/**
 * The buckets of a listing as columns: a million bucket keys are a million rows of numbers (their resource, start
 * and value) and a few hundred thousand resources and groups, with no object per bucket or per resource. Text is
 * kept for groups only; a key is made when something must name it (a skipped key, a failed read, a GET).
 */
import type { BucketValue } from '../common/measure.js';

/** `a` with room for `need` entries: itself when it has them, else a copy at least twice as long. */
export function grown<T extends Int32Array | Float64Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  const bigger = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2));
  bigger.set(a);
  return bigger;
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

export class BucketSet {
  /** Buckets: their resource, start (NaN when the timestamp is not one), lines (NaN: no value read) and units. */
  count = 0;
  res = new Int32Array(256);
  start = new Float64Array(256);
  n = new Float64Array(256);
  s = new Float64Array(256);
  /** A timestamp whose text is not String(start) (leading zeros, or not a number), by bucket. */
  private readonly tsText = new Map<number, string>();

  /** Resources: the group (-1 when the spec does not select it) and the fields before the timestamp (0: none, the key is a timestamp). */
  resources = 0;
  resGroup = new Int32Array(256);
  resFields = new Int32Array(256);
  /** Resource texts made as they were found; the others are made by `textOf` when asked. */
  private readonly resText = new Map<number, string>();

  readonly groups: string[] = [];
  private readonly groupIds = new Map<string, number>();

  /** Set by select: resources of the spec and field count. */
  selected: Uint8Array | null = null;

  constructor(
    readonly delimiter: string,
    private readonly textOf: (r: number) => string = () => '',
  ) {}

  /** A new resource of group number `group` (-1: not selected); `text` when it is at hand, else textOf makes it when asked. */
  addResource(group: number, fields: number, text?: string): number {
    const r = this.resources++;
    if (r === this.resGroup.length) {
      this.resGroup = grown(this.resGroup, r + 1);
      this.resFields = grown(this.resFields, r + 1);
    }
    this.resGroup[r] = group;
    this.resFields[r] = fields;
    if (text !== undefined) this.resText.set(r, text);
    return r;
  }

  /** Room for `buckets` in all. */
  reserve(buckets: number): void {
    if (buckets <= this.res.length) return;
    this.res = grown(this.res, buckets);
    this.start = grown(this.start, buckets);
    this.n = grown(this.n, buckets);
    this.s = grown(this.s, buckets);
  }

  /** A bucket whose timestamp is text (from a key): its start, NaN when it is not digits; the text kept when it is not String(start). */
  addStamped(r: number, ts: string, n: number, s: number): void {
    const start = isDigits(ts) ? Number(ts) : NaN;
    this.addBucket(r, start, n, s, String(start) === ts ? undefined : ts);
  }

  addBucket(r: number, start: number, n: number, s: number, tsText?: string): void {
    const i = this.count++;
    if (i === this.res.length) {
      this.res = grown(this.res, i + 1);
      this.start = grown(this.start, i + 1);
      this.n = grown(this.n, i + 1);
      this.s = grown(this.s, i + 1);
    }
    this.res[i] = r;
    this.start[i] = start;
    this.n[i] = n;
    this.s[i] = s;
    if (tsText !== undefined) this.tsText.set(i, tsText);
  }

  /** The number of a group (null: none, -1), given the first time it is asked for. */
  groupId(group: string | null): number {
    if (group === null) return -1;
    let g = this.groupIds.get(group);
    if (g === undefined) this.groupIds.set(group, (g = this.newGroup(group)));
    return g;
  }

  /** A number for a group its caller knows to be new (one that keeps its own table of groups). */
  newGroup(group: string): number {
    return this.groups.push(group) - 1;
  }

  resourceText(r: number): string {
    return this.resText.get(r) ?? this.textOf(r);
  }

  /** The bucket's key, as Redis has it. */
  keyOf(i: number): string {
    const r = this.res[i]!;
    const ts = this.tsText.get(i) ?? String(this.start[i]);
    return this.resFields[r] === 0 ? ts : this.resourceText(r) + this.delimiter + ts;
  }

  timestampText(i: number): string {
    return this.tsText.get(i) ?? String(this.start[i]);
  }

  valueOf(i: number): BucketValue | undefined {
    return Number.isNaN(this.n[i]) ? undefined : { s: this.s[i]!, n: this.n[i]! };
  }

  setValue(i: number, v: BucketValue | undefined): void {
    this.n[i] = v ? v.n : NaN;
    this.s[i] = v ? v.s : 0;
  }

  /** Every group renamed by `rename` (grouping by parts of a field): groups that become one are merged. */
  regroup(rename: (group: string) => string): void {
    const old = this.groups.splice(0);
    this.groupIds.clear();
    const to = old.map((g) => this.groupId(rename(g)));
    for (let r = 0; r < this.resources; r++) if (this.resGroup[r]! >= 0) this.resGroup[r] = to[this.resGroup[r]!]!;
  }

  /** Whether bucket i was selected (select() first): its resource is, and its timestamp is one. */
  isSelected(i: number): boolean {
    return this.selected![this.res[i]!] === 1 && !Number.isNaN(this.start[i]);
  }
}

export interface Selection {
  fieldCount: number | null;
  skipped: { key: string; reason: string }[];
}

/**
 * Selects the buckets of the spec. `fieldCount` counts every field including the timestamp; when not given it is
 * inferred, and keys of mixed counts are an error that names them.
 */
export function selectBuckets(set: BucketSet, fieldCount: number | undefined): Selection {
  let count = fieldCount ?? null;
  if (count === null && set.resources > 0) {
    const counts = new Set<number>();
    for (let r = 0; r < set.resources; r++) counts.add(set.resFields[r]! + 1);
    if (counts.size > 1) {
      // An example key of each count: the first bucket of a resource with it.
      const examples = new Map<number, string>();
      for (let i = 0; i < set.count; i++) {
        const c = set.resFields[set.res[i]!]! + 1;
        if (!examples.has(c)) examples.set(c, set.keyOf(i));
      }
      throw new Error(
        `keys have different numbers of fields: ${[...examples].map(([n, k]) => `${n} (e.g. ${k})`).join(', ')}; give the field count (--fields N) or a narrower spec`,
      );
    }
    count = counts.values().next().value!;
  }
  const selected = new Uint8Array(set.resources);
  for (let r = 0; r < set.resources; r++) selected[r] = set.resFields[r]! + 1 === count && set.resGroup[r]! >= 0 ? 1 : 0;
  set.selected = selected;
  const skipped: Selection['skipped'] = [];
  for (let i = 0; i < set.count; i++) {
    const r = set.res[i]!;
    if (set.resFields[r]! + 1 !== count) skipped.push({ key: set.keyOf(i), reason: `has ${set.resFields[r]! + 1} fields, expected ${count}` });
    else if (Number.isNaN(set.start[i])) skipped.push({ key: set.keyOf(i), reason: `last field '${set.timestampText(i)}' is not a timestamp` });
  }
  return { fieldCount: count, skipped };
}
