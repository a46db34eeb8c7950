/**
 * The totalling algorithm, with no I/O. Keys are split on the delimiter; the timestamp is the last field and
 * everything before it is the resource. Per resource, buckets are walked newest first: every bucket that
 * starts at or after the window floor counts in full; the first one that starts before it counts pro rata
 * (the share of [start, end) inside the window, `end` being the next newer bucket's start, or now) and the
 * walk stops. Fractions are kept until the end and the group totals rounded.
 */
import { BucketSet } from './bucket-set.js';
import { groupOf, type FieldSpec } from './matchspec.js';

/** Resources by their text, each made (split and grouped) once, in a BucketSet. */
export class ResourcesByText {
  private readonly ids = new Map<string, number>();
  private bare = -1;

  /** `groupId` numbers groups (a reader with a table of its own passes its own). */
  constructor(
    private readonly set: BucketSet,
    private readonly spec: readonly FieldSpec[],
    private readonly groupId: (group: string | null) => number = (g) => set.groupId(g),
  ) {}

  /** A bucket by its key: split at the last delimiter into resource and timestamp. */
  addKey(key: string, n = NaN, s = 0): void {
    const cut = key.lastIndexOf(this.set.delimiter);
    const ts = cut < 0 ? key : key.slice(cut + this.set.delimiter.length);
    const r = cut < 0 ? this.bareResource() : this.of(key.slice(0, cut));
    this.set.addStamped(r, ts, n, s);
  }

  /** The resource of its text. */
  of(resource: string): number {
    let r = this.ids.get(resource);
    if (r === undefined) {
      const fields = resource.split(this.set.delimiter);
      this.ids.set(resource, (r = this.set.addResource(this.groupId(groupOf(fields, this.spec, this.set.delimiter)), fields.length, resource)));
    }
    return r;
  }

  /** A key without a delimiter is a timestamp alone: no fields. */
  private bareResource(): number {
    if (this.bare < 0) this.bare = this.set.addResource(this.groupId(groupOf([], this.spec, this.set.delimiter)), 0, '');
    return this.bare;
  }
}

/** Splits keys into a BucketSet (select the spec's buckets with selectBuckets). */
export function parseKeys(keys: readonly string[], spec: readonly FieldSpec[], delimiter: string): BucketSet {
  const set = new BucketSet(delimiter);
  const resources = new ResourcesByText(set, spec);
  for (const key of keys) resources.addKey(key);
  return set;
}

/** The selected buckets gathered per resource, each resource's newest first: resource r's are at[from[r] .. from[r + 1]). */
export interface BucketOrder {
  at: Int32Array;
  from: Int32Array;
}

/** Runs of buckets up to this long are put in order by insertion (buckets arrive in any order). */
const INSERTION_RUN = 64;

/** Orders the selected buckets (selectBuckets first) by a counting sort on their resources; within one, by start, newest first. */
export function orderBuckets(set: BucketSet): BucketOrder {
  const from = new Int32Array(set.resources + 1);
  for (let i = 0; i < set.count; i++) if (set.isSelected(i)) from[set.res[i]! + 1]!++;
  for (let r = 0; r < set.resources; r++) from[r + 1]! += from[r]!;
  const place = from.slice(0, set.resources);
  const at = new Int32Array(from[set.resources]!);
  for (let i = 0; i < set.count; i++) if (set.isSelected(i)) at[place[set.res[i]!]!++] = i;
  // A resource has a few dozen buckets at most (ttl / bucket width): each run is sorted by insertion, cheaper than a
  // comparator sort up to runs of about that length (a sort proper for longer ones), on a copy of its starts: read
  // where they are, a million starts scattered over megabytes would be read several times each, a cache miss a time.
  const start = set.start;
  const starts = new Float64Array(INSERTION_RUN);
  for (let r = 0; r < set.resources; r++) {
    const [a, b] = [from[r]!, from[r + 1]!];
    if (b - a > INSERTION_RUN) {
      at.subarray(a, b).sort((x, y) => start[y]! - start[x]!);
      continue;
    }
    for (let j = a; j < b; j++) {
      const i = at[j]!;
      const s = start[i]!;
      let k = j - 1;
      for (; k >= a && starts[k - a]! < s; k--) {
        starts[k + 1 - a] = starts[k - a]!;
        at[k + 1] = at[k]!;
      }
      starts[k + 1 - a] = s;
      at[k + 1] = i;
    }
  }
  return { at, from };
}

/** The buckets a total over `window` seconds ending at `now` needs, each given to `visit` with its weight and end. */
export function walkBuckets(set: BucketSet, order: BucketOrder, now: number, window: number, visit: (i: number, weight: number, end: number) => void): void {
  const floor = now - window;
  const { at, from } = order;
  const start = set.start;
  for (let r = 0; r < set.resources; r++) {
    let end = now;
    for (let j = from[r]!; j < from[r + 1]!; j++) {
      const i = at[j]!;
      const s = start[i]!;
      if (s >= floor) {
        visit(i, 1, end);
        end = s;
        continue;
      }
      const span = end - s;
      if (span > 0 && end > floor) visit(i, (end - floor) / span, end);
      break;
    }
  }
}
