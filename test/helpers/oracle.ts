/**
 * The totals a test expects, computed from the keys it wrote, by the rule of the specification (SPEC §5), not by
 * the code under test: per resource (every field but the timestamp), buckets newest first; each bucket that starts
 * at or after the floor (now - window) counts in full; the first that starts before it counts for the share of
 * [start, end) inside the window, `end` being the next newer bucket's start (or now), and the walk stops there.
 * Totals are summed per group and rounded once at the end.
 */

export interface Written {
  /** The key as written: fields joined by `;`, the timestamp last. */
  key: string;
  value: number;
}

/**
 * Expected totals per group. `groupFields` are the field positions (0 = the prefix) whose values, joined by `;`,
 * make the group; `keep` filters keys (a literal field, a partial match).
 */
export function expectedTotals(
  written: readonly Written[],
  o: { window: number; now: number; groupFields: number[]; keep?: (fields: string[]) => boolean },
): Record<string, number> {
  const floor = o.now - o.window;
  const resources = new Map<string, { group: string; buckets: { start: number; value: number }[] }>();
  for (const { key, value } of written) {
    const fields = key.split(';');
    if (o.keep && !o.keep(fields)) continue;
    const start = Number(fields[fields.length - 1]);
    const resource = fields.slice(0, -1).join(';');
    const group = o.groupFields.map((i) => fields[i]).join(';');
    let r = resources.get(resource);
    if (!r) resources.set(resource, (r = { group, buckets: [] }));
    r.buckets.push({ start, value });
  }
  const sums = new Map<string, number>();
  for (const { group, buckets } of resources.values()) {
    buckets.sort((a, b) => b.start - a.start);
    let end = o.now;
    let sum = 0;
    for (const b of buckets) {
      if (b.start >= floor) sum += b.value;
      else {
        if (end > floor) sum += (b.value * (end - floor)) / (end - b.start);
        break;
      }
      end = b.start;
    }
    sums.set(group, (sums.get(group) ?? 0) + sum);
  }
  const out: Record<string, number> = {};
  for (const [group, sum] of sums) if (sum > 0) out[group] = Math.round(sum);
  return out;
}
