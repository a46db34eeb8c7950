/**
 * The agent publishes each totalizer's description (common/description.ts) in Redis, where rkvdns serves it to
 * readers (EXPOSE_KEYS must allow `totalizers;*`): at start and every PUBLISH_EVERY_MS, each for as long as the
 * totalizer's buckets live. Rules that share a prefix write one totalizer, so they must describe it alike.
 */
import { DESCRIPTION_PREFIX, formatDescription } from '../common/description.js';
import type { Logger } from '../common/log.js';
import type { Connection } from '../redis/connection.js';
import { plainRedisError } from '../redis/errors.js';
import type { Rule } from './rules.js';

export const PUBLISH_EVERY_MS = 60_000;

/** Description text and TTL per description key; throws naming the rules that disagree. */
export function descriptionsOf(rules: readonly Rule[]): Map<string, { text: string; ttl: number; rule: string }> {
  const out = new Map<string, { text: string; ttl: number; rule: string }>();
  for (const r of rules) {
    const prefix = r.fixed.prefix;
    // A prefix taken from the line itself names no one totalizer.
    if (prefix === undefined) continue;
    const text = formatDescription({
      measure: r.measure,
      scale: r.scale,
      bucket: r.bucketLength,
      ttl: r.ttl,
      keypattern: r.keypattern.source,
      columns: r.columns ?? [],
    });
    const key = DESCRIPTION_PREFIX + prefix;
    const seen = out.get(key);
    if (seen && seen.text !== text)
      throw new Error(
        `rules ${seen.rule} and ${r.name} both write totalizer ${prefix} but describe it differently (measure, scale, buckets, ttl, keypattern or columns); make them agree or give one another prefix`,
      );
    out.set(key, { text, ttl: r.ttl, rule: r.name });
  }
  return out;
}

/** Publishes now and every PUBLISH_EVERY_MS; a failure is logged once until a publication succeeds again. */
export function publishDescriptions(conn: Connection, rules: readonly Rule[], log: Logger): { stop(): void } {
  const all = descriptionsOf(rules);
  let failing = false;
  const publish = async () => {
    try {
      await Promise.all([...all].map(([key, d]) => conn.client.set(key, d.text, 'EX', d.ttl)));
      if (failing) log.info(`totalizer descriptions published again (${all.size})`);
      failing = false;
    } catch (e) {
      if (!failing)
        log.warn(`totalizer descriptions not published (${plainRedisError((e as Error).message)}); trying again every ${PUBLISH_EVERY_MS / 1000} s`);
      failing = true;
    }
  };
  void publish();
  const timer = setInterval(() => void publish(), PUBLISH_EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
