/** The sockets' own guarantees, on loopback with handlers written for the test (no Redis involved). */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/common/log.js';
import { listenDns, type DnsListener, type PacketHandler, type TcpEvent } from '../../../src/dns/server.js';
import { buildQuery, decode, sendTcp, sendUdp } from '../../helpers/dns.js';

let listener: DnsListener | undefined;
afterEach(async () => {
  await listener?.close();
  listener = undefined;
});

async function serve(handler: PacketHandler) {
  const failures: string[] = [];
  const events: TcpEvent[] = [];
  listener = await listenDns(handler, {
    host: '127.0.0.1',
    port: 0,
    tcpTimeoutMs: 5000,
    maxTcpConnections: 10,
    log: createLogger('silent', 'test'),
    onTcpEvent: (e) => events.push(e),
    onFailure: (e, transport) => failures.push(`${transport}: ${e.message}`),
  });
  return { port: listener.port, failures, events };
}

describe('a handler that fails', () => {
  const handlers: [string, PacketHandler][] = [
    [
      'throws',
      () => {
        throw new Error('boom');
      },
    ],
    ['rejects', () => Promise.reject(new Error('boom'))],
  ];
  for (const [how, handler] of handlers) {
    it(`${how}: the query is answered SERVFAIL with its question, and reported once per query`, async () => {
      const { port, failures } = await serve(handler);
      const q = buildQuery('a.example', 'TXT', { id: 4242 });
      const udp = decode((await sendUdp(port, q))!);
      const [tcpRaw] = await sendTcp(port, [q]);
      const tcp = decode(tcpRaw!);
      for (const d of [udp, tcp]) {
        expect(d.rcode).toBe('SERVFAIL');
        expect(d.id).toBe(4242);
        expect(d.questions?.[0]?.name).toBe('a.example');
      }
      expect(failures).toEqual(['udp: boom', 'tcp: boom']);
    });
  }

  it('a garbage packet whose handler fails gets a header-only SERVFAIL, or nothing when it is not a query', async () => {
    const { port, failures } = await serve(() => {
      throw new Error('boom');
    });
    const garbage = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([200])]);
    const d = decode((await sendUdp(port, garbage))!);
    expect(d.rcode).toBe('SERVFAIL');
    expect(d.id).toBe(0x1234);
    expect(await sendUdp(port, Buffer.from([1, 2, 3]), 300)).toBeNull();
    expect(failures.length).toBe(2);
  });
});

describe('TCP connections', () => {
  it('a connection reset by the client is counted as a socket error', async () => {
    const { port, events } = await serve(() => null);
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    // Half a frame keeps the server reading when the reset arrives.
    sock.write(Buffer.from([0, 40, 1, 2]));
    await new Promise((r) => setTimeout(r, 50));
    sock.resetAndDestroy();
    for (let i = 0; i < 50 && !events.includes('socket_error'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(events).toContain('accepted');
    expect(events).toContain('socket_error');
  });

  it('a length prefix shorter than a header closes the connection, after answering the messages before it', async () => {
    const { port, events } = await serve((msg) => msg);
    const q = buildQuery('a.example', 'TXT', { id: 7 });
    const sock = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    sock.on('data', (d) => got.push(d));
    await new Promise((r) => sock.once('connect', r));
    const framed = Buffer.alloc(2 + q.length);
    framed.writeUInt16BE(q.length, 0);
    q.copy(framed, 2);
    sock.write(Buffer.concat([framed, Buffer.from([0, 3, 1, 2, 3])]));
    await new Promise((r) => sock.once('close', r));
    expect(Buffer.concat(got).length).toBe(2 + q.length);
    expect(events).toContain('bad_frame');
  });
});
