/**
 * What the DNS says about a totalizer besides its buckets: its description (common/description.ts, published
 * by the agent at `totalizers;<prefix>`), the names of every described totalizer (for an unknown name's error),
 * and rkvdns's DEFAULT_TTL from `config.<zone>` (how old the open buckets read through a listing may be).
 */
import { DESCRIPTION_PREFIX, parseDescription, type Description } from '../common/description.js';
import { fetchListing } from './listing.js';
import type { Lookups } from './lookup.js';
import { nameOf } from './names.js';

/** The totalizer's description; null when none is published (or readable: the caller cannot tell). */
export async function readDescription(prefix: string, zone: string, lookups: Lookups): Promise<Description | null> {
  const name = nameOf([DESCRIPTION_PREFIX + prefix, 'get'], zone);
  const r = await lookups.txt(name.labels, name.display);
  if (r.kind !== 'records' || r.records.length === 0) return null;
  return parseDescription(r.records[0]!.join(''));
}

/** Every described totalizer's prefix in the zone, sorted; empty when none is (or the listing fails). */
export async function describedTotalizers(zone: string, lookups: Lookups, concurrency = 16): Promise<string[]> {
  const glob = `${DESCRIPTION_PREFIX}*`;
  try {
    const listing = await fetchListing(lookups, { op: 'keys', pattern: glob, glob, zone, concurrency });
    return listing.records.map((rec) => rec[0]!.slice(DESCRIPTION_PREFIX.length)).sort();
  } catch {
    return [];
  }
}

/** rkvdns's DEFAULT_TTL as its introspection answers it (`DEFAULT_TTL:30`); null where introspection is refused. */
export async function defaultTtlOf(zone: string, lookups: Lookups): Promise<number | null> {
  const name = nameOf(['config'], zone);
  // Dozens of settings: over TCP straight away, not a UDP answer that would only come back truncated.
  const r = await lookups.txt(name.labels, name.display, true);
  if (r.kind !== 'records') return null;
  for (const rec of r.records) {
    const m = /^DEFAULT_TTL:(\d+)$/.exec(rec.join(''));
    if (m) return Number(m[1]);
  }
  return null;
}

/**
 * Descriptions held between rounds (the exporter's, the dashboard's): they change only when an agent's rules do,
 * and "none published" cannot be cached by the DNS where the server gives no SOA. Each is read again at most
 * every `holdMs`; a failed read is not held.
 */
export class DescriptionCache {
  private readonly held = new Map<string, { until: number; description: Promise<Description | null> }>();
  constructor(private readonly holdMs = 60_000) {}

  get(key: string, read: () => Promise<Description | null>, now = Date.now()): Promise<Description | null> {
    const h = this.held.get(key);
    if (h && h.until > now) return h.description;
    const description = read();
    this.held.set(key, { until: now + this.holdMs, description });
    description.catch(() => this.held.delete(key));
    return description;
  }
}
