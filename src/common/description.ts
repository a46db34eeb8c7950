/**
 * A totalizer's description, which the agent publishes in Redis at `totalizers;<prefix>` so that readers need
 * not be told how its buckets are written: its measure and scale, bucket length and TTL, key pattern, and the
 * names of the comma-separated parts of `matched`. One line of `name=value` words, the key pattern last:
 *   v=1 measure=sum scale=3 bucket=900 ttl=86400 columns=ip,status keypattern=<prefix>;<matched>;<source>;<start_ts>
 */
import { MEASURES, type Measure } from './measure.js';

/** Descriptions live under this prefix, one key per totalizer. */
export const DESCRIPTION_PREFIX = 'totalizers;';

export interface Description {
  measure: Measure;
  scale: number;
  /** Bucket length, seconds. */
  bucket: number;
  /** How long a bucket is kept, seconds: the longest window. */
  ttl: number;
  keypattern: string;
  /** Names of the parts of `matched`, or empty. */
  columns: string[];
}

export function formatDescription(d: Description): string {
  const columns = d.columns.length ? ` columns=${d.columns.join(',')}` : '';
  return `v=1 measure=${d.measure} scale=${d.scale} bucket=${d.bucket} ttl=${d.ttl}${columns} keypattern=${d.keypattern}`;
}

/** The description in `text`, or null when it is not one this version reads. */
export function parseDescription(text: string): Description | null {
  const at = text.indexOf(' keypattern=');
  if (!text.startsWith('v=1 ') || at < 0) return null;
  const words = new Map(
    text
      .slice(0, at)
      .split(' ')
      .map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] as const),
  );
  const measure = words.get('measure') as Measure;
  const [scale, bucket, ttl] = ['scale', 'bucket', 'ttl'].map((k) => Number(words.get(k)));
  if (!MEASURES.includes(measure) || ![scale, bucket, ttl].every((n) => Number.isInteger(n) && n! >= 0)) return null;
  const columns = words.get('columns');
  return { measure, scale: scale!, bucket: bucket!, ttl: ttl!, keypattern: text.slice(at + ' keypattern='.length), columns: columns ? columns.split(',') : [] };
}
