#!/usr/bin/env node
/**
 * Replays a log file over UDP at a fixed rate: node bench/udp-sender.mjs PORT FILE LINES_PER_SECOND
 * LINES_PER_DATAGRAM [SHARD NSHARDS]. With NSHARDS > 1 this process sends every NSHARDS-th datagram
 * (several senders together offer rates one process cannot). LINES_PER_DATAGRAM `cut` sends the file in
 * 16 KiB slices, lines cut wherever a slice ends, as `nc -u` does (one shard only: the slices of a line
 * must come from one sender). Prints "sent LINES DATAGRAMS SECONDS".
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';

const [port, file, rate, perDatagram, shard = '0', shards = '1'] = process.argv.slice(2);
const text = readFileSync(file);
const lines = text.toString('latin1').split('\n').filter(Boolean);
const datagrams = [];
const counts = [];
if (perDatagram === 'cut') {
  for (let i = 0; i < text.length; i += 16_384) {
    const slice = text.subarray(i, i + 16_384);
    datagrams.push(slice);
    // The lines a slice finishes.
    let n = 0;
    for (let at = slice.indexOf(10); at >= 0; at = slice.indexOf(10, at + 1)) n++;
    counts.push(n);
  }
} else {
  for (let i = 0, d = 0; i < lines.length; i += Number(perDatagram), d++) {
    if (d % Number(shards) !== Number(shard)) continue;
    const chunk = lines.slice(i, i + Number(perDatagram));
    datagrams.push(Buffer.from(chunk.join('\n') + '\n', 'latin1'));
    counts.push(chunk.length);
  }
}
const dgramRate = (Number(rate) * datagrams.length) / lines.length;
// A connected socket skips the per-datagram address lookup, and a 1 ms timer (not a setImmediate spin)
// leaves the sender only the CPU its sends need: on two cores, a spinning sender starves the agent it measures.
const sock = dgram.createSocket('udp4');
await new Promise((resolve) => sock.connect(Number(port), '127.0.0.1', resolve));
const t0 = performance.now();
let sent = 0;
let lineCount = 0;
await new Promise((resolve) => {
  const tick = () => {
    const due = Math.min(datagrams.length, Math.floor(((performance.now() - t0) / 1000) * dgramRate) + 1);
    // A bounded send queue keeps memory flat when the rate is above what this process can push.
    while (sent < due && sock.getSendQueueCount() < 1000) {
      lineCount += counts[sent];
      sock.send(datagrams[sent++]);
    }
    if (sent < datagrams.length) setTimeout(tick, 1);
    else {
      const wait = () => (sock.getSendQueueCount() === 0 ? resolve() : setTimeout(wait, 1));
      wait();
    }
  };
  tick();
});
console.log(`sent ${lineCount} ${sent} ${((performance.now() - t0) / 1000).toFixed(3)}`);
sock.close();
