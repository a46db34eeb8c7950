import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { FrameReader, frame } from '../../../src/dns/framing.js';
import { TcpChannels } from '../../../src/dns/tcp-channels.js';
import { buildQuery } from '../../../src/dns/client.js';
import { decodeResponse } from '../../../src/dns/response.js';

/**
 * A loopback DNS-over-TCP server that answers each batch of queries read together in reverse order, each answer
 * carrying its query's name as the ID field does not: the test sees which answer went to which query.
 */
function reversingServer(opts: { closeAfterAnswers?: number } = {}) {
  const connections: net.Socket[] = [];
  let answered = 0;
  const server = net.createServer((sock) => {
    connections.push(sock);
    const frames = new FrameReader();
    sock.on('data', (d) => {
      const { messages } = frames.push(d);
      for (const q of messages.reverse()) {
        // The question echoed with QR set and one TXT record holding the question name's first label.
        const label = q.subarray(13, 13 + q[12]!);
        const answer = Buffer.concat([
          q.subarray(0, 12),
          q.subarray(12),
          Buffer.from([0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 30, 0, label.length + 1, label.length]),
          label,
        ]);
        answer.writeUInt16BE(0x8400, 2);
        answer.writeUInt16BE(1, 6);
        sock.write(frame(answer));
        if (++answered === opts.closeAfterAnswers) sock.end();
      }
    });
  });
  return new Promise<{ port: number; connections: net.Socket[]; close: () => void }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        connections,
        close: () => {
          for (const c of connections) c.destroy();
          server.close();
        },
      }),
    ),
  );
}

const query = (name: string) => buildQuery(0, [Buffer.from(name), Buffer.from('test')], 16, false);
const firstLabelOf = (answer: Buffer) => {
  const r = decodeResponse(answer);
  const at = r.answers.rdataOffset(0);
  return r.message.toString('latin1', at + 1, at + r.answers.rdataLength(0));
};

let stop: () => void = () => undefined;
afterEach(() => stop());

describe('pipelined TCP channels', () => {
  it('many queries share at most four connections; answers out of order reach their own queries', async () => {
    const server = await reversingServer();
    stop = server.close;
    const channels = new TcpChannels();
    const names = Array.from({ length: 40 }, (_, i) => `q${i}`);
    const answers = await Promise.all(names.map((n) => channels.exchange({ host: '127.0.0.1', port: server.port }, query(n), 2000)));
    expect(answers.map(firstLabelOf)).toEqual(names);
    expect(server.connections.length).toBeLessThanOrEqual(4);
    channels.closeAll();
  });

  it('a connection the server closed while idle is replaced, and the query asked on it is asked again', async () => {
    const server = await reversingServer({ closeAfterAnswers: 1 });
    stop = server.close;
    const channels = new TcpChannels(1);
    const ns = { host: '127.0.0.1', port: server.port };
    expect(firstLabelOf(await channels.exchange(ns, query('first'), 2000))).toBe('first');
    // The server ended that connection after its one answer; the next query finds it closed and goes on a new one.
    await new Promise((r) => setTimeout(r, 50));
    expect(firstLabelOf(await channels.exchange(ns, query('second'), 2000))).toBe('second');
    expect(server.connections.length).toBe(2);
    channels.closeAll();
  });
});
