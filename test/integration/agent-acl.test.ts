/** The agent's allow_from: senders bound to different loopback addresses stand for different hosts. */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentConfig } from '../../src/agent/config.js';
import { startAgent, untilTaken, writeConfig } from '../helpers/agent.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

const RULE = { matchex: '^hit (\\S+)', matched: '{1}', ttl: 3600, buckets: 4, source: 's', prefix: 'acl' };

/** Sends `count` one-line datagrams from a socket bound to `from`. */
async function sendFrom(from: string, port: number, line: string, count: number): Promise<void> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, from, () => r()));
  for (let i = 0; i < count; i++) await new Promise<void>((r, j) => s.send(Buffer.from(`${line}\n`), port, '127.0.0.1', (e) => (e ? j(e) : r())));
  s.close();
}

async function total(prefix: string): Promise<number> {
  const keys = await redis.client.keys(`${prefix};*`);
  return keys.length ? (await redis.client.mget(keys)).reduce((a, v) => a + Number(v), 0) : 0;
}

describe('allow_from', () => {
  it('takes datagrams from the listed senders only, per listener, and counts the others', async () => {
    const [global, own, metrics] = [await freePort(), await freePort(), await freePort()];
    const path = writeConfig({
      redis: redis.url,
      stats: 0,
      metrics: `127.0.0.1:${metrics}`,
      allow_from: ['127.0.0.2'],
      rules: [
        { ...RULE, name: 'global', prefix: 'acl_global', port: global },
        { ...RULE, name: 'own', prefix: 'acl_own', port: own, allow_from: '127.0.0.0/8' },
      ],
    });
    const agent = await startAgent(path, [], 2);
    await sendFrom('127.0.0.2', global, 'hit a', 30);
    await sendFrom('127.0.0.3', global, 'hit a', 20);
    await sendFrom('127.0.0.3', own, 'hit b', 10);
    await sendFrom('127.0.0.4', own, 'hit b', 5);
    await untilTaken(metrics, 65);
    await agent.stop();
    expect(await total('acl_global')).toBe(30);
    expect(await total('acl_own')).toBe(15);
    expect(agent.proc.output()).toMatch(/final stats datagrams=45 .* dropped_not_allowed=20/);
  });

  it('rules sharing a listener must agree on it, and a bad entry names the rule', () => {
    const base = { redis: 'redis://127.0.0.1:6379' };
    expect(() =>
      buildAgentConfig({
        ...base,
        rules: [
          { ...RULE, name: 'a', port: 9 },
          { ...RULE, name: 'b', port: 9, allow_from: '10.0.0.0/8' },
        ],
      }),
    ).toThrow(/rules a and b listen on 127\.0\.0\.1:9 with different allow_from/);
    expect(() => buildAgentConfig({ ...base, rules: [{ ...RULE, name: 'a', port: 9, allow_from: '10.0.0.0/99' }] })).toThrow(
      /rule a: allow_from: '10\.0\.0\.0\/99'/,
    );
    expect(buildAgentConfig({ ...base, allow_from: '10.0.0.0/8', rules: [{ ...RULE, name: 'a', port: 9 }] }).rules[0]!.allowFrom).toBe('10.0.0.0/8');
  });
});

describe("the agent's Redis ACL line in docs/SECURITY.md", () => {
  it('lets the agent write its counts (exactly) and nothing beyond its prefixes and commands', async () => {
    const page = readFileSync(fileURLToPath(new URL('../../docs/SECURITY.md', import.meta.url)), 'utf8');
    const line = /`ACL SETUSER (totalizer-agent .+?)`/.exec(page)?.[1];
    expect(line, 'docs/SECURITY.md gives the ACL line for the agent').toBeDefined();
    const password = 'agent-pw-7';
    await redis.client.call('ACL', 'SETUSER', ...line!.replace('>secret', `>${password}`).split(' '));
    const port = await freePort();
    const path = writeConfig({
      redis: `redis://totalizer-agent:${password}@127.0.0.1:${redis.port}`,
      stats: 0,
      rules: [
        { ...RULE, name: 'web', prefix: 'web_client', port },
        { ...RULE, name: 'bytes', prefix: 'web_bytes', port, matchex: '^hit (\\S+) (\\d+)', measure: 'sum', value: '{2}' },
      ],
    });
    const agent = await startAgent(path);
    await sendFrom('127.0.0.1', port, 'hit x 40', 25);
    await waitForTotal('web_client', 25);
    // The sum rule's script reads and writes its bucket, and the agent publishes both descriptions.
    const [bytes] = await redis.client.keys('web_bytes;*');
    expect(await redis.client.get(bytes!)).toBe('1000 25');
    expect(await redis.client.get('totalizers;web_client')).toMatch(/^v=1 measure=count /);
    expect(await redis.client.get('totalizers;web_bytes')).toMatch(/^v=1 measure=sum /);
    await agent.stop();
    expect(agent.proc.output()).toMatch(/final stats .* written=50 .* redis_errors=0/);
    expect(agent.proc.output()).not.toMatch(/descriptions not published/);
    // The same user can neither delete a counter nor touch another prefix.
    const limited = new Redis({ port: redis.port, host: '127.0.0.1', username: 'totalizer-agent', password, lazyConnect: true });
    try {
      await limited.connect();
      const [key] = await redis.client.keys('web_client;*');
      await expect(limited.del(key!)).rejects.toThrow(/NOPERM/);
      await expect(limited.incrby('other;x', 1)).rejects.toThrow(/NOPERM/);
    } finally {
      limited.disconnect();
    }
  });
});

/** Waits until the counters under `prefix` add up to `expected` (the agent flushes within its interval). */
async function waitForTotal(prefix: string, expected: number): Promise<void> {
  for (const until = Date.now() + 10_000; (await total(prefix)) !== expected; await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > until) throw new Error(`${prefix} totals ${await total(prefix)}, not ${expected}`);
  }
}
