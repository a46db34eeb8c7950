/** The agent's log_format: json gives one object per line, the final accounting included. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendLines, startAgent, untilTaken, writeConfig } from '../helpers/agent.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe('log_format: json', () => {
  it('every line the agent writes is one JSON object with level, time, name and msg', async () => {
    const [port, metrics] = [await freePort(), await freePort()];
    const path = writeConfig({
      redis: redis.url,
      stats: 0,
      metrics: `127.0.0.1:${metrics}`,
      log_format: 'json',
      rules: [{ name: 'hits', prefix: 'hits', port, matchex: '^hit (\\S+)', matched: '{1}', ttl: 3600, buckets: 4, source: 's' }],
    });
    const agent = await startAgent(path);
    await sendLines(port, ['hit a', 'hit b', 'no match']);
    await untilTaken(metrics, 3);
    await agent.stop();
    const records = agent.proc
      .output()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const r of records) expect(r).toMatchObject({ level: expect.any(String), time: expect.any(String), name: 'totalizer-agent', msg: expect.any(String) });
    expect(records.map((r) => r.msg)).toContainEqual(expect.stringMatching(/^final stats datagrams=3 lines=3 matched=2 unmatched=1 /));
  });
});
