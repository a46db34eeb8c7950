/** A web_client totalizer written with known ages, and its totals over the last hour: for the totalize tests. */
import type { TestRedis } from './redis.js';

export const NOW = Math.floor(Date.now() / 1000);

/** The seeded keys (matched, source, age in seconds, value), each expiring in a day. */
const WEB_CLIENT: [string, string, number, number][] = [
  ['10.0.0.224,200', 'sophia', 100, 5],
  ['10.0.0.224,200', 'sophia', 1000, 7],
  ['10.0.0.224,200', 'sophia', 3000, 3],
  ['10.0.0.224,200', 'sophia', 4000, 10], // straddles the floor (now-3600): spans [now-4000, now-3000) → 600/1000 inside
  ['10.0.0.224,200', 'sophia', 9000, 99], // older: never counted
  ['10.0.0.224,200', 'flame', 200, 2], // another source of the same group
  ['10.0.0.224,304', 'sophia', 500, 4],
  ['10.0.0.9,404', 'flame', 3599, 1],
];

/** The totals of the seeded keys over the hour before NOW, per matched field. */
export const WEB_CLIENT_HOUR = { '10.0.0.224,200': Math.round(5 + 7 + 3 + 10 * 0.6 + 2), '10.0.0.224,304': 4, '10.0.0.9,404': 1 };

export async function seedWebClient(redis: TestRedis): Promise<void> {
  for (const [matched, source, age, value] of WEB_CLIENT) await redis.client.set(`web_client;${matched};${source};${NOW - age}`, String(value), 'EX', 86400);
}

export const countsOf = (groups: { group: string; count?: number }[]) => Object.fromEntries(groups.map((g) => [g.group, g.count]));
