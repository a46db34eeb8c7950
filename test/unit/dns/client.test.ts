/** The stub client's UDP socket reuse, against a loopback responder built on our own codec. */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsClient } from '../../../src/dns/client.js';
import { QTYPE } from '../../../src/dns/constants.js';
import { QNAME_POINTER, assemble, encodeRR, labelsOf, txtRdata } from '../../../src/dns/message.js';
import { parseQuery } from '../../../src/dns/query.js';

const answer = { rcode: 0 as const, answers: [encodeRR(QNAME_POINTER, QTYPE.TXT, 30, txtRdata([Buffer.from('ok')]))], authority: [] };
let server: dgram.Socket;
/** Source ports of the queries received, in order. */
let ports: number[] = [];
/** Queries to leave unanswered (the next N), to make the client time out. */
let withhold = 0;
const withheld: { msg: Buffer; port: number }[] = [];

beforeAll(async () => {
  server = dgram.createSocket('udp4');
  server.on('message', (msg, rinfo) => {
    ports.push(rinfo.port);
    if (withhold > 0) {
      withhold--;
      withheld.push({ msg, port: rinfo.port });
      return;
    }
    const p = parseQuery(msg);
    if (p.ok) server.send(assemble(p.query, answer, 512, { setTcOnDrop: true }).packet, rinfo.port, '127.0.0.1');
  });
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
});
afterAll(() => server.close());

const client = () => new DnsClient({ servers: [{ host: '127.0.0.1', port: server.address().port }], timeoutMs: 200, tries: 2 });
const ask = (c: DnsClient) => c.query(labelsOf('x.test'), QTYPE.TXT, 'x.test TXT');

describe('DnsClient UDP sockets', () => {
  it('sequential queries reuse one socket, and a fresh one (new source port) takes over after 100', async () => {
    ports = [];
    const c = client();
    for (let i = 0; i < 101; i++) expect((await ask(c)).rcode).toBe(0);
    expect(new Set(ports.slice(0, 100)).size).toBe(1);
    expect(ports[100]).not.toBe(ports[0]);
  });

  it('concurrent queries each get their own socket', async () => {
    ports = [];
    const c = client();
    await Promise.all(Array.from({ length: 8 }, () => ask(c)));
    expect(new Set(ports).size).toBe(8);
  });

  it('a socket whose query timed out is closed: the retry uses a new port, and a late answer reaches nobody', async () => {
    ports = [];
    withhold = 1;
    const c = client();
    const r = await ask(c);
    expect(r.rcode).toBe(0);
    expect(ports).toHaveLength(2);
    expect(ports[1]).not.toBe(ports[0]);
    // The late answer to the first try, sent to its port, finds no socket; the next query is unaffected.
    const late = withheld.pop()!;
    const p = parseQuery(late.msg);
    if (!p.ok) throw new Error('unparsable query');
    server.send(assemble(p.query, answer, 512, { setTcOnDrop: true }).packet, late.port, '127.0.0.1');
    expect((await ask(c)).rcode).toBe(0);
    expect(ports[2]).toBe(ports[1]);
  });
});
