/** ALLOW_QUERY: clients bound to different loopback addresses stand for different clients. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask } from '../helpers/dns.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { counter, startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';

let redis: TestRedis;
let server: TestRkvdns;

beforeAll(async () => {
  redis = await startRedis();
  await redis.client.set('k', 'v');
  // 127.0.0.1 is in the list so the test's own stats queries are answered.
  server = await startRkvdns(redis.url, { ALLOW_QUERY: '127.0.0.1, 127.0.0.2/32, 127.0.4.0/24' });
});

afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

describe('ALLOW_QUERY', () => {
  const name = `k.get.${ZONE}`;

  it('answers clients in the list, over UDP and TCP', async () => {
    for (const from of ['127.0.0.2', '127.0.4.9']) {
      const udp = await ask(server.port, name, 'TXT', { from });
      expect(udp.rcode).toBe('NOERROR');
      expect(udp.answers?.length).toBe(1);
      expect((await ask(server.port, name, 'TXT', { from, tcp: true })).rcode).toBe('NOERROR');
    }
  });

  it('answers every other client REFUSED, with its id and question, and counts it', async () => {
    const before = await counter(server.port, 'refused_acl');
    for (const from of ['127.0.0.3', '127.0.5.1']) {
      const udp = await ask(server.port, name, 'TXT', { from, id: 77 });
      expect(udp).toMatchObject({ id: 77, rcode: 'REFUSED' });
      expect(udp.answers ?? []).toEqual([]);
      expect(udp.questions?.[0]?.name).toBe(name);
      expect((await ask(server.port, name, 'TXT', { from, tcp: true })).rcode).toBe('REFUSED');
    }
    expect(await counter(server.port, 'refused_acl')).toBe(before + 4);
  });
});
