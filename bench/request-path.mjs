#!/usr/bin/env node
/**
 * The JavaScript cost of rkvdns's request path, without sockets: 1,000 distinct GET queries answered
 * from their flights (the marshalled repeat path), against the null server's parse + assemble. Prints
 * µs per query for each; the difference is what rkvdns's planning, flights and counters cost.
 *   npm run bench:request-path
 */
import { dist, startRedis, table } from './lib.mjs';

const { buildRequestPath } = await import(dist('rkvdns/setup.js'));
const { connectRedis } = await import(dist('redis/connection.js'));
const { redisReader } = await import(dist('redis/reader.js'));
const { buildSettings } = await import(dist('rkvdns/settings.js'));
const { createLogger } = await import(dist('common/log.js'));
const { parseQuery } = await import(dist('dns/query.js'));
const { assemble, encodeRR, labelsOf, QNAME_POINTER, txtRdata } = await import(dist('dns/message.js'));
const { buildQuery } = await import(dist('dns/client.js'));
const { QTYPE } = await import(dist('dns/constants.js'));

const ZONE = 'bench.test';
const redis = await startRedis();
const kv = [];
for (let i = 0; i < 1000; i++) kv.push(`k${i}`, String(i));
await redis.client.mset(kv);
const s = buildSettings({ ZONE, PORT: 0, REDIS_SERVER: redis.url, RKVDNS_FQDN: `ns.${ZONE}`, SOA_CONTACT: `hostmaster.${ZONE}` });
const log = createLogger('warn', 'request-path');
const conn = connectRedis(s.REDIS_SERVER, { timeoutMs: 1000, autoPipelining: true, log });
await conn.connect();
const { handler: handle } = buildRequestPath(s, redisReader(conn), log);
const packets = Array.from({ length: 1000 }, (_, i) => buildQuery(i, labelsOf(`k${i}.get.${ZONE}`), QTYPE.TXT, false));
// First pass fills the flights from Redis; the measured passes are all repeats.
await Promise.all(packets.map((p) => handle(p, 'udp', '127.0.0.1#5353')));

const fixed = { rcode: 0, answers: [encodeRR(QNAME_POINTER, QTYPE.TXT, 30, txtRdata([Buffer.from('12345')]))], authority: [] };
const paths = {
  'rkvdns (repeat from a flight)': (p) => handle(p, 'udp', '127.0.0.1#5353'),
  'null server (parse + assemble)': (p) => assemble(parseQuery(p).query, fixed, 512, { setTcOnDrop: true }).packet,
};
const rows = [];
for (const [path, fn] of Object.entries(paths)) {
  let best = Infinity;
  // Rounds of 50,000 queries, all inside the flights' first 5 s; the best round is the least disturbed.
  for (let round = 0; round < 6; round++) {
    const t0 = performance.now();
    for (let k = 0; k < 50; k++) for (const p of packets) if (fn(p) instanceof Promise) throw new Error(`${path}: a repeat went asynchronous`);
    best = Math.min(best, ((performance.now() - t0) * 1000) / 50_000);
  }
  rows.push({ path, 'µs/query (best of 6 × 50,000)': best.toFixed(2) });
}
conn.disconnect();
await redis.stop();
table('request path in-process, 1,000 distinct GET names', rows);
process.exit(0);
