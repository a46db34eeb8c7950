/** An answerer of the tests' own behind the batched UDP path, and the answers it gives: for the addon's tests. */
import { createLogger } from '../../src/common/log.js';
import { bindUdp, type Cacheable, type UdpOptions } from '../../src/dns/udp.js';
import { buildQuery } from './dns.js';

const log = createLogger('silent', 'test');

/** An answer to `query`: one TXT record (TTL `ttl`), one NS record in authority (TTL `ttl` / 2), and OPT (DO set). */
export function answerTo(query: Buffer, ttl: number): Buffer {
  const qEnd = query.length - 11; // the query carries OPT (11 bytes) after its question
  const header = Buffer.from(query.subarray(0, 12));
  header.writeUInt16BE(0x8400, 2);
  header.writeUInt16BE(1, 6);
  header.writeUInt16BE(1, 8);
  header.writeUInt16BE(1, 10);
  const rr = (type: number, t: number, rdata: Buffer) => {
    const b = Buffer.alloc(12);
    b.writeUInt16BE(0xc00c, 0);
    b.writeUInt16BE(type, 2);
    b.writeUInt16BE(1, 4);
    b.writeUInt32BE(t, 6);
    b.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([b, rdata]);
  };
  const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
  return Buffer.concat([header, query.subarray(12, qEnd), rr(16, ttl, Buffer.from('\x05hello')), rr(2, Math.floor(ttl / 2), Buffer.from([0xc0, 0x0c])), opt]);
}

export const TXT_TTL_AT = (q: Buffer) => q.length - 11 + 6;
export const NS_TTL_AT = (q: Buffer) => q.length - 11 + 18 + 6;
export const OPT_TTL_AT = (q: Buffer) => q.length - 11 + 32 + 5;

/** A batched endpoint whose answerer counts its calls and marks each answer with `mark(cacheable)`; the caller closes it. */
export async function serveAnswers(ttl: number, mark: (cacheable: Cacheable) => void, options: UdpOptions = {}) {
  const calls: Buffer[] = [];
  const endpoint = await bindUdp(
    'batched',
    '127.0.0.1',
    0,
    (msg, _client, cacheable) => {
      calls.push(Buffer.from(msg));
      if (cacheable) mark(cacheable);
      return answerTo(msg, ttl);
    },
    log,
    options,
  );
  return { endpoint, port: endpoint.port, calls };
}

/** A TXT query with EDNS (OPT, 11 bytes, after the question) and the given ID. */
export const query = (id: number, name = 'repeat.example') => buildQuery(name, 'TXT', { id, edns: 1232 });
