/**
 * The baseline for rkvdns: the same socket layer and codec answering every query with one fixed TXT
 * record, without Redis, planning or marshalling. rkvdns's share of this rate is the cost of its request path.
 * Usage: node bench/null-server.mjs PORT
 */
import { createLogger } from '../dist/common/log.js';
import { QTYPE } from '../dist/dns/constants.js';
import { QNAME_POINTER, assemble, encodeRR, txtRdata } from '../dist/dns/message.js';
import { parseQuery } from '../dist/dns/query.js';
import { listenDns } from '../dist/dns/server.js';

const answer = { rcode: 0, answers: [encodeRR(QNAME_POINTER, QTYPE.TXT, 30, txtRdata([Buffer.from('12345')]))], authority: [] };
const listener = await listenDns(
  async (msg, transport) => {
    const p = parseQuery(msg);
    if (!p.ok) return null;
    return assemble(p.query, answer, transport === 'udp' ? 512 : 65535, { setTcOnDrop: transport === 'udp' }).packet;
  },
  { host: '127.0.0.1', port: Number(process.argv[2] ?? 0), tcpTimeoutMs: 30_000, maxTcpConnections: 512, log: createLogger('warn', 'null') },
);
console.log(`null server on 127.0.0.1:${listener.port} `);
// A clean exit on signals, so `node --cpu-prof` writes its profile.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => listener.close().then(() => process.exit(0)));
