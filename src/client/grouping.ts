/**
 * What `--by` groups by, given the totalizer's description: a field of its key pattern, or a part of `matched`
 * that the description names (`columns=ip,status`: `--by status` totals every address's 200s together). Parts
 * are grouped by totalling per `matched` and then regrouping by the parts asked for.
 */
import type { Description } from '../common/description.js';
import { DEFAULT_KEYPATTERN, fieldNames } from './spec.js';

export interface Grouping {
  keypattern: string;
  /** Key pattern fields to group by (matched included when parts of it are asked for). */
  by?: string[];
  /** Indexes of the parts of matched to keep, with their names; null: matched whole. */
  parts: { indexes: number[]; names: string[] } | null;
}

export function groupingOf(o: { keypattern?: string; by?: string[]; delimiter: string }, d: Description | null): Grouping {
  const keypattern = o.keypattern ?? d?.keypattern ?? DEFAULT_KEYPATTERN;
  if (!o.by) return { keypattern, parts: null };
  const fields = fieldNames(keypattern, o.delimiter);
  const partNames = o.by.filter((n) => !fields.includes(n) && d?.columns.includes(n));
  if (partNames.length === 0) return { keypattern, by: o.by, parts: null };
  const by = o.by.filter((n) => !partNames.includes(n));
  if (!by.includes('matched')) by.push('matched');
  return { keypattern, by, parts: { indexes: partNames.map((n) => d!.columns.indexOf(n)), names: partNames } };
}

/** The group (break fields joined, in key pattern order) with matched cut down to the parts kept. */
export function regroupByParts(breakNames: readonly string[], parts: NonNullable<Grouping['parts']>, delimiter: string): (group: string) => string {
  const at = breakNames.indexOf('matched');
  return (group) => {
    const fields = group.split(delimiter);
    const all = fields[at]!.split(',');
    fields[at] = parts.indexes.map((i) => all[i] ?? '').join(',');
    return fields.join(delimiter);
  };
}

/** Column names for the grouped fields: the parts kept, or the description's names for matched's parts. */
export function columnNames(breakNames: readonly string[], parts: Grouping['parts'], d: Description | null): string[] | undefined {
  if (!parts && !d?.columns.length) return undefined;
  return breakNames.flatMap((n) => (n !== 'matched' ? [n] : parts ? parts.names : d!.columns));
}
