/**
 * Query names as the client builds them: labels given as text of one character per byte (latin1, the way keys
 * are read back from TXT records, so any key bytes round-trip), followed by the zone's labels. One place, so
 * the listing, the probes and the GETs name things the same way.
 */
import { labelsOf } from '../dns/message.js';

export const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

export interface QueryName {
  labels: Buffer[];
  /** For debug lines and errors: the labels joined with dots (not escaped). */
  display: string;
}

export function nameOf(labels: readonly string[], zone: string): QueryName {
  return { labels: [...labels.map(latin1), ...labelsOf(zone)], display: `${labels.join('.')}.${zone}` };
}
