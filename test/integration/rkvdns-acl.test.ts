/** ALLOW_QUERY: clients bound to different loopback addresses stand for different clients. */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQuery, decode } from '../helpers/dns.js';
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

/** One UDP query sent from `from`; the decoded answer, or null after 2 s. */
function udpFrom(from: string, msg: Buffer): Promise<ReturnType<typeof decode> | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, 2000);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(decode(m));
    });
    s.bind(0, from, () => s.send(msg, server.port, '127.0.0.1'));
  });
}

/** One TCP query sent from `from`. */
function tcpFrom(from: string, msg: Buffer): Promise<ReturnType<typeof decode>> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port: server.port, host: '127.0.0.1', localAddress: from });
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        sock.end();
        resolve(decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      }
    });
    sock.on('error', reject);
    const framed = Buffer.alloc(2 + msg.length);
    framed.writeUInt16BE(msg.length, 0);
    msg.copy(framed, 2);
    sock.write(framed);
  });
}

describe('ALLOW_QUERY', () => {
  const query = buildQuery(`k.get.${ZONE}`, 'TXT', { id: 77 });

  it('answers clients in the list, over UDP and TCP', async () => {
    for (const from of ['127.0.0.2', '127.0.4.9']) {
      const udp = await udpFrom(from, query);
      expect(udp?.rcode).toBe('NOERROR');
      expect(udp?.answers?.length).toBe(1);
      expect((await tcpFrom(from, query)).rcode).toBe('NOERROR');
    }
  });

  it('answers every other client REFUSED, with its id and question, and counts it', async () => {
    const before = await counter(server.port, 'refused_acl');
    for (const from of ['127.0.0.3', '127.0.5.1']) {
      const udp = await udpFrom(from, query);
      expect(udp).toMatchObject({ id: 77, rcode: 'REFUSED' });
      expect(udp?.answers ?? []).toEqual([]);
      expect(udp?.questions?.[0]?.name).toBe(`k.get.${ZONE}`);
      expect((await tcpFrom(from, query)).rcode).toBe('REFUSED');
    }
    expect(await counter(server.port, 'refused_acl')).toBe(before + 4);
  });
});
