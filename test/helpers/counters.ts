/** What the agent wrote, read straight from Redis, and what a log should give: for the agent's tests. */
import { TOKEN_PREFIX } from '../../src/agent/writer.js';
import { DESCRIPTION_PREFIX } from '../../src/common/description.js';
import type { TestRedis } from './redis.js';

/** The sample Apache log's rule: requests per client address and status. */
export const WEB_CLIENT = { name: 'web_client', prefix: 'web_client', matchex: '^(\\S+) \\S+ \\S+ \\[[^\\]]*\\] "[^"]*" (\\d{3}) ', matched: '{1},{2}' };

/** An agent config writing to `redis`, listening on `port`, source `sophia`, 4 buckets an hour. */
export const agentConfig = (redis: TestRedis, port: number, extra: object = {}, rules: object[] = [WEB_CLIENT]) => ({
  redis: redis.url,
  stats: 0,
  defaults: { port, ttl: 3600, buckets: 4, source: 'sophia' },
  rules,
  ...extra,
});

/** The sum of the counters matching `pattern`; the agent's own token and description keys are not counters. */
export async function sumOf(redis: TestRedis, pattern: string): Promise<number> {
  const keys = (await redis.client.keys(pattern)).filter((k) => !k.startsWith(TOKEN_PREFIX) && !k.startsWith(DESCRIPTION_PREFIX));
  if (keys.length === 0) return 0;
  return (await redis.client.mget(keys)).reduce((a, v) => a + Number(v), 0);
}

/** A totalizer's counts per matched field, all sources and buckets added. */
export async function totalsBy(redis: TestRedis, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const keys = await redis.client.keys(`${prefix};*`);
  const vals = keys.length ? await redis.client.mget(keys) : [];
  keys.forEach((k, i) => {
    const f = k.split(';')[1]!;
    out.set(f, (out.get(f) ?? 0) + Number(vals[i]));
  });
  return out;
}

/** What counting `lines` by `rx`, keyed by `fmt`, should give. */
export function expectedFromLog(lines: readonly string[], rx: RegExp, fmt: (m: RegExpExecArray) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of lines) {
    const m = rx.exec(l);
    if (m) out.set(fmt(m), (out.get(fmt(m)) ?? 0) + 1);
  }
  return out;
}
