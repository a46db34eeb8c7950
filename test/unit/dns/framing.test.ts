import { describe, expect, it } from 'vitest';
import { FrameReader, frame } from '../../../src/dns/framing.js';

const msg = (n: number, fill = 1) => Buffer.alloc(n, fill);
const texts = (bufs: Buffer[]) => bufs.map((b) => b.toString('hex'));

describe('TCP framing', () => {
  const a = msg(12, 1);
  const b = msg(30, 2);
  const both = Buffer.concat([frame(a), frame(b)]);
  const cases: { name: string; chunks: Buffer[]; messages: Buffer[]; held: number; bad?: boolean }[] = [
    { name: 'one whole message', chunks: [frame(a)], messages: [a], held: 0 },
    { name: 'two messages in one read', chunks: [both], messages: [a, b], held: 0 },
    { name: 'a message split inside its length prefix', chunks: [both.subarray(0, 1), both.subarray(1)], messages: [a, b], held: 0 },
    { name: 'a message split inside its body', chunks: [both.subarray(0, 20), both.subarray(20)], messages: [a, b], held: 0 },
    { name: 'byte by byte', chunks: [...both].map((x) => Buffer.from([x])), messages: [a, b], held: 0 },
    { name: 'an incomplete message is held', chunks: [both.subarray(0, 20)], messages: [a], held: 6 },
    {
      name: 'a length shorter than a header ends the stream',
      chunks: [Buffer.concat([frame(a), Buffer.from([0, 5, 1, 2, 3, 4, 5])])],
      messages: [a],
      held: 7,
      bad: true,
    },
    { name: 'a zero length ends the stream', chunks: [Buffer.from([0, 0])], messages: [], held: 2, bad: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = new FrameReader();
      const got: Buffer[] = [];
      let bad = false;
      for (const chunk of c.chunks) {
        const out = r.push(chunk);
        got.push(...out.messages);
        bad ||= out.bad;
      }
      expect(texts(got)).toEqual(texts(c.messages));
      expect(bad).toBe(c.bad ?? false);
      expect(r.held).toBe(c.held);
    });
  }

  it('reads back messages of any size from chunks cut anywhere (a page spans several reads)', () => {
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const all = Array.from({ length: 300 }, (_, i) => msg(12 + random(i % 10 === 0 ? 60_000 : 300), i % 251));
    for (const [maxChunk, count] of [
      [1, 12],
      [3, 40],
      [1000, 300],
      [65_536, 300],
    ] as const) {
      const messages = all.slice(0, count);
      const stream = Buffer.concat(messages.map(frame));
      const r = new FrameReader();
      const got: Buffer[] = [];
      for (let at = 0; at < stream.length;) {
        const next = Math.min(stream.length, at + 1 + random(maxChunk));
        const out = r.push(stream.subarray(at, next));
        expect(out.bad).toBe(false);
        got.push(...out.messages);
        at = next;
      }
      expect(texts(got)).toEqual(texts(messages));
      expect(r.held).toBe(0);
    }
  });

  it('gives a message within one read as a view of it, and one spanning reads at its own size', () => {
    const a = msg(12, 1);
    const b = msg(5000, 2);
    const stream = Buffer.concat([frame(a), frame(b)]);
    const first = stream.subarray(0, 1000);
    const r = new FrameReader();
    const [whole] = r.push(first).messages;
    expect(whole!.buffer).toBe(first.buffer);
    const [spanning] = r.push(stream.subarray(1000)).messages;
    expect(spanning!.equals(b)).toBe(true);
    expect(spanning!.length).toBe(5000);
    expect(spanning!.buffer).not.toBe(stream.buffer);
  });

  it('frame prefixes the length, big-endian', () => {
    expect([...frame(msg(300)).subarray(0, 2)]).toEqual([1, 44]);
  });
});
