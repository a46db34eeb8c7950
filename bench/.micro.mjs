import { Redis } from 'ioredis';
import net from 'node:net';
import { startRedis } from './lib.mjs';
const redis = await startRedis();
const N = 200_000;
for (let i = 0; i < N; i += 5000) { const kv = []; for (let j = i; j < i + 5000; j++) kv.push(`k${j}`, String(j)); await redis.client.mset(kv); }
const port = Number(new URL(redis.url).port);
const keys = Array.from({ length: N }, (_, i) => Buffer.from(`k${i}`));
async function drive(getTtl, label) {
  const c0 = process.cpuUsage(); const t0 = performance.now();
  let next = 0;
  const worker = async () => { while (next < N) { const k = keys[next++]; await getTtl(k); } };
  await Promise.all(Array.from({ length: 200 }, worker));
  const c = process.cpuUsage(c0); const ms = performance.now() - t0;
  console.log(`${label}: ${((c.user + c.system) / N).toFixed(2)} µs CPU/pair, ${(N / ms * 1000).toFixed(0)} pairs/s`);
}
const io = new Redis(redis.url, { enableAutoPipelining: true });
const ioPair = (k) => Promise.all([io.getBuffer(k), io.ttl(k)]);
// raw RESP
const sock = net.connect(port, '127.0.0.1'); sock.setNoDelay(true);
await new Promise((r) => sock.once('connect', r));
const waiting = []; let head = 0; let out = []; let scheduled = false;
let buf = Buffer.alloc(0);
sock.on('data', (d) => {
  buf = buf.length ? Buffer.concat([buf, d]) : d;
  let p = 0;
  for (;;) {
    // parse two replies: bulk then integer
    const start = p;
    if (p >= buf.length) break;
    let v; 
    if (buf[p] === 36) { const e = buf.indexOf(13, p); if (e < 0) break; const len = Number(buf.latin1Slice(p + 1, e)); if (len < 0) { v = null; p = e + 2; } else { if (e + 2 + len + 2 > buf.length) break; v = buf.subarray(e + 2, e + 2 + len); p = e + 4 + len; } }
    else { p = start; break; }
    if (p >= buf.length || buf[p] !== 58) { p = start; break; }
    const e2 = buf.indexOf(13, p); if (e2 < 0) { p = start; break; }
    const ttl = Number(buf.latin1Slice(p + 1, e2)); p = e2 + 2;
    waiting[head++]([v, ttl]);
  }
  buf = p === buf.length ? Buffer.alloc(0) : buf.subarray(p);
});
const flush = () => { scheduled = false; sock.write(Buffer.concat(out)); out = []; };
const rawPair = (k) => new Promise((res) => {
  const hdr = `*2\r\n$3\r\nGET\r\n$${k.length}\r\n`;
  out.push(Buffer.from(hdr), k, Buffer.from(`\r\n*2\r\n$3\r\nTTL\r\n$${k.length}\r\n`), k, Buffer.from('\r\n'));
  waiting.push(res);
  if (!scheduled) { scheduled = true; process.nextTick(flush); }
});
const { createClient, RESP_TYPES } = await import('/tmp/nr/node_modules/@redis/client/dist/index.js');
const nr = await createClient({ url: redis.url }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }).connect();
const nrPair = (k) => Promise.all([nr.get(k), nr.ttl(k)]);
const io2 = new Redis(redis.url, { enableAutoPipelining: true, protocol: 2 });
const io2Pair = (k) => Promise.all([io2.getBuffer(k), io2.ttl(k)]);
console.log(await nrPair(keys[5]), await io2Pair(keys[5]));
for (let r = 0; r < 3; r++) { await drive(ioPair, 'ioredis GET+TTL'); await drive(io2Pair, 'ioredis RESP2 GET+TTL'); await drive(nrPair, 'node-redis GET+TTL'); await drive(rawPair, 'raw RESP GET+TTL'); }
process.exit(0);
