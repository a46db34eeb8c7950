#!/usr/bin/env node
/**
 * Replays a log file over UDP at a fixed rate: node bench/udp-sender.mjs PORT FILE LINES_PER_SECOND
 * LINES_PER_DATAGRAM [SHARD NSHARDS]. With NSHARDS > 1 this process sends every NSHARDS-th datagram
 * (several senders together offer rates one process cannot). Prints "sent LINES DATAGRAMS SECONDS".
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

const [port, file, rate, perDatagram, shard = '0', shards = '1'] = process.argv.slice(2);
const lines = readFileSync(file, 'latin1').split('\n').filter(Boolean);
const per = Number(perDatagram);
const datagrams = [];
const counts = [];
for (let i = 0, d = 0; i < lines.length; i += per, d++) {
  if (d % Number(shards) !== Number(shard)) continue;
  const chunk = lines.slice(i, i + per);
  datagrams.push(Buffer.from(chunk.join('\n'), 'latin1'));
  counts.push(chunk.length);
}
const dgramRate = Number(rate) / per / Number(shards);
const sock = dgram.createSocket('udp4');
const t0 = performance.now();
let sent = 0;
let lineCount = 0;
let inFlight = 0;
await new Promise((resolve) => {
  const tick = () => {
    const due = Math.min(datagrams.length, Math.floor(((performance.now() - t0) / 1000) * dgramRate) + 1);
    // Bounded in-flight sends keep memory flat when the rate is above what this process can push.
    while (sent < due && inFlight < 1000) {
      lineCount += counts[sent];
      const d = datagrams[sent++];
      inFlight++;
      sock.send(d, Number(port), '127.0.0.1', () => { inFlight--; });
    }
    if (sent < datagrams.length) setImmediate(tick);
    else {
      const wait = () => (inFlight === 0 ? resolve() : setTimeout(wait, 1));
      wait();
    }
  };
  tick();
});
console.log(`sent ${lineCount} ${sent} ${((performance.now() - t0) / 1000).toFixed(3)}`);
sock.close();
