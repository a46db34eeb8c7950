/** ALLOW_QUERY: clients bound to different loopback addresses stand for different clients. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, buildQuery, decode, sendUdp } from '../helpers/dns.js';
import { startProcess } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { counter, RKVDNS_BIN, startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';

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

describe('ALLOW_QUERY over IPv6', () => {
  /** rkvdns on [::1] with the given list; the rcode of one UDP query from ::1. */
  async function rcodeFromLoopback6(allow: string): Promise<string | undefined> {
    const p = await startProcess(
      'node',
      [RKVDNS_BIN, '--listen', '[::1]:0', '--redis', redis.url, '--zone', ZONE, '--set', `ALLOW_QUERY=${allow}`],
      / on \[::1\]:(\d+) /,
    );
    try {
      const raw = await sendUdp(Number(p.match[1]), buildQuery(`k.get.${ZONE}`, 'TXT'), 2000, '::1');
      return raw ? decode(raw).rcode : undefined;
    } finally {
      await p.stop();
    }
  }

  it('answers an IPv6 client in the list and refuses one outside it', async () => {
    expect(await rcodeFromLoopback6('::1/128,10.0.0.0/8')).toBe('NOERROR');
    expect(await rcodeFromLoopback6('2001:db8::/32')).toBe('REFUSED');
  });
});
