#!/usr/bin/env node
/**
 * How much rkvdns amplifies a spoofed-source flood: a listing query with EDNS (what a reflection attack
 * sends) at a fixed rate from one source for a few seconds, bytes of answers out against bytes of queries in,
 * with response rate limiting off (the default) and on.
 *   npm run bench:amplification
 */
import dgram from 'node:dgram';
import { fmt, need, startRedis, startRkvdns, table } from './lib.mjs';

need({ 'redis-server': 'redis-server' });
const ZONE = 'amp.test';
const RATE = 1000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const { buildQuery } = await import('../dist/dns/client.js');
const { labelsOf } = await import('../dist/dns/message.js');

const redis = await startRedis();
// 50 bucket keys: the listing answer fills MAX_UDP_PAYLOAD (1,200 bytes) and is sent with TC=1.
for (let i = 0; i < 50; i++) await redis.client.set(`web_client;10.0.${Math.floor(i / 10)}.${200 + i},200;sophia;1747546909`, String(i));

async function flood(port, from) {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, from, r));
  let bytesOut = 0;
  let answers = 0;
  s.on('message', (m) => {
    bytesOut += m.length;
    answers++;
  });
  const query = buildQuery(1, labelsOf(`web_client;*.keys.${ZONE}`), 16, true);
  let sent = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    const due = Math.floor(((performance.now() - t0) / 1000) * RATE);
    for (; sent < due; sent++) s.send(query, port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 300));
  s.close();
  return { sent, bytesIn: sent * query.length, answers, bytesOut };
}

const rows = [];
for (const [label, settings] of [
  ['RRL off (default)', {}],
  ['RRL_RESPONSES_PER_SECOND 20, RRL_SLIP 2', { RRL_RESPONSES_PER_SECOND: 20, RRL_SLIP: 2 }],
  ['RRL_RESPONSES_PER_SECOND 20, RRL_SLIP 0', { RRL_RESPONSES_PER_SECOND: 20, RRL_SLIP: 0 }],
]) {
  const server = await startRkvdns(redis.url, ZONE, settings);
  const r = await flood(server.port, '127.0.3.9');
  await server.proc.stop();
  rows.push({
    rkvdns: label,
    'queries sent': fmt.int(r.sent),
    'bytes in': fmt.int(r.bytesIn),
    answers: fmt.int(r.answers),
    'bytes out': fmt.int(r.bytesOut),
    'out / in': (r.bytesOut / r.bytesIn).toFixed(2),
  });
}
await redis.stop();
table(`amplification: ${RATE} listing queries/s with EDNS (1,232) from one source for ${SECONDS} s`, rows);
process.exit(0);
