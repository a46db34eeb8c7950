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

  it('frame prefixes the length, big-endian', () => {
    expect([...frame(msg(300)).subarray(0, 2)]).toEqual([1, 44]);
  });
});
