import { describe, expect, it } from 'vitest';
import { CommandWriter, ReplyParser, RespError, RespProtocolError, commandHead, type RespReply } from '../../../src/redis/resp.js';

function parseAll(chunks: Buffer[]): RespReply[] {
  const out: RespReply[] = [];
  const p = new ReplyParser((r) => out.push(r));
  for (const c of chunks) p.feed(c);
  return out;
}

const STREAM = Buffer.concat([
  Buffer.from('$5\r\nhello\r\n:-2\r\n:1747546909\r\n$-1\r\n+string\r\n-WRONGTYPE Operation against a key\r\n'),
  Buffer.from('*3\r\n$1\r\na\r\n$0\r\n\r\n$3\r\n\x00\r\n\r\n*0\r\n*-1\r\n*2\r\n*1\r\n:7\r\n$2\r\nok\r\n'),
]);
const EXPECTED: RespReply[] = [
  Buffer.from('hello'),
  -2,
  1747546909,
  null,
  'string',
  new RespError('WRONGTYPE Operation against a key'),
  [Buffer.from('a'), Buffer.alloc(0), Buffer.from('\x00\r\n')],
  [],
  null,
  [[7], Buffer.from('ok')],
];

describe('CommandWriter', () => {
  it('writes commands as RESP arrays of bulk strings, binary arguments intact', () => {
    const w = new CommandWriter();
    w.add(commandHead('GET', 2), Buffer.from([0x6b, 0x00, 0xff]));
    w.add(commandHead('LRANGE', 4), 'k', '0', '-1');
    expect(w.take()).toEqual(
      Buffer.concat([
        Buffer.from('*2\r\n$3\r\nGET\r\n$3\r\nk'),
        Buffer.from([0, 0xff]),
        Buffer.from('\r\n*4\r\n$6\r\nLRANGE\r\n$1\r\nk\r\n$1\r\n0\r\n$2\r\n-1\r\n'),
      ]),
    );
    expect(w.length).toBe(0);
  });

  it('writes the length of every size of argument: one digit, two, three and more', () => {
    const w = new CommandWriter();
    const args = [0, 7, 10, 64, 65, 99, 100, 999, 1000].map((n) => Buffer.alloc(n, 0x62));
    w.addAll(commandHead('MGET', 1 + args.length), args);
    expect(w.take().toString()).toBe(`*${1 + args.length}\r\n$4\r\nMGET\r\n` + args.map((a) => `$${a.length}\r\n${'b'.repeat(a.length)}\r\n`).join(''));
  });

  it('grows past its first buffer for a large argument and starts afresh after take', () => {
    const w = new CommandWriter();
    const big = Buffer.alloc(100_000, 0x61);
    w.add(commandHead('GET', 2), big);
    const out = w.take();
    expect(out.length).toBe('*2\r\n$3\r\nGET\r\n$100000\r\n'.length + 100_000 + 2);
    expect(out.subarray(out.length - 3).toString()).toBe('a\r\n');
    w.add(commandHead('TTL', 2), 'x');
    expect(w.take().toString()).toBe('*2\r\n$3\r\nTTL\r\n$1\r\nx\r\n');
  });
});

describe('ReplyParser', () => {
  it('parses every reply type in one chunk', () => {
    expect(parseAll([STREAM])).toEqual(EXPECTED);
  });

  it('gives the same replies however the stream is split, down to one byte at a time', () => {
    for (const size of [1, 2, 3, 7, 13, 64]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < STREAM.length; i += size) chunks.push(STREAM.subarray(i, i + size));
      expect(parseAll(chunks)).toEqual(EXPECTED);
    }
  });

  it('waits for a large bulk string without handing out a partial one', () => {
    const out: RespReply[] = [];
    const p = new ReplyParser((r) => out.push(r));
    p.feed(Buffer.from('$10\r\n01234'));
    expect(out).toEqual([]);
    p.feed(Buffer.from('5678'));
    expect(out).toEqual([]);
    p.feed(Buffer.from('9\r\n:1\r\n'));
    expect(out).toEqual([Buffer.from('0123456789'), 1]);
  });

  it.each([
    ['an unknown type byte', '!oops\r\n'],
    ['a line ending in CR without LF', ':12\rx'],
    ['a length that is not a number', '$1x\r\nab\r\n'],
    ['a bulk string longer than announced', '$2\r\nabc\r\n'],
    ['an empty integer', ':\r\n'],
  ])('refuses %s', (_, bytes) => {
    expect(() => parseAll([Buffer.from(bytes)])).toThrow(RespProtocolError);
  });

  it("tells an array reply's first element as soon as it is read, before the rest (a SCAN's cursor), and only the outer one's", () => {
    const events: string[] = [];
    const p = new ReplyParser(
      (r) => events.push(`reply ${JSON.stringify(r)}`),
      (first) => events.push(`first ${String(first)}`),
    );
    p.feed(Buffer.from('*2\r\n$3\r\n170\r\n*2\r\n$1\r\na'));
    expect(events).toEqual(['first 170']);
    p.feed(Buffer.from('\r\n$1\r\nb\r\n:5\r\n*1\r\n:9\r\n'));
    expect(events.slice(1)).toEqual([`reply ${JSON.stringify([Buffer.from('170'), [Buffer.from('a'), Buffer.from('b')]])}`, 'reply 5', 'first 9', 'reply [9]']);
  });

  it("gives a top-level array's bulk strings to onBulk as bytes, nils too, split over reads; nested ones and other replies stay values", () => {
    const out: RespReply[] = [];
    const took: (string | null)[] = [];
    const p = new ReplyParser(
      (r) => out.push(r),
      undefined,
      (b, from, to) => {
        took.push(b === null ? null : b.toString('latin1', from, to));
        return true;
      },
    );
    // An MGET-like reply (a value, a nil, an empty string, a value cut by the read), then a SCAN-like one and a bulk string.
    p.feed(Buffer.from('*4\r\n$2\r\n17\r\n$-1\r\n$0\r\n\r\n$5\r\nab'));
    p.feed(Buffer.from('cde\r\n*2\r\n:0\r\n*1\r\n$3\r\nkey\r\n$1\r\nz\r\n'));
    expect(took).toEqual(['17', null, '', 'abcde']);
    expect(out).toEqual([[null, null, null, null], [0, [Buffer.from('key')]], Buffer.from('z')]);
  });

  it('keeps a bulk string onBulk does not take', () => {
    const out: RespReply[] = [];
    const p = new ReplyParser(
      (r) => out.push(r),
      undefined,
      () => false,
    );
    p.feed(Buffer.from('*2\r\n$1\r\na\r\n$-1\r\n'));
    expect(out).toEqual([[Buffer.from('a'), null]]);
  });

  it('reset drops a partial reply, so a new connection starts clean', () => {
    const out: RespReply[] = [];
    const p = new ReplyParser((r) => out.push(r));
    p.feed(Buffer.from('$10\r\n0123'));
    p.reset();
    p.feed(Buffer.from(':5\r\n'));
    expect(out).toEqual([5]);
  });

  it('reset in the middle of an array drops the elements it had, so they do not fill the next reply', () => {
    const out: RespReply[] = [];
    const p = new ReplyParser((r) => out.push(r));
    p.feed(Buffer.from('*3\r\n:1\r\n:2\r\n'));
    p.reset();
    p.feed(Buffer.from('*1\r\n:9\r\n'));
    expect(out).toEqual([[9]]);
  });

  it('reads a large reply split over many reads once, resuming where each read ended', () => {
    // An LRANGE-like reply of 5,000 ten-byte elements arriving 100 bytes at a time: 5,001 elements, 806 reads.
    const n = 5000;
    const items = Array.from({ length: n }, (_, i) => Buffer.from(String(i).padStart(10, '0')));
    const bytes = Buffer.concat([Buffer.from(`*${n}\r\n`), ...items.map((v) => Buffer.from(`$10\r\n${v.toString()}\r\n`))]);
    const out: RespReply[] = [];
    const p = new ReplyParser((r) => out.push(r));
    let reads = 0;
    for (let i = 0; i < bytes.length; i += 100, reads++) p.feed(bytes.subarray(i, i + 100));
    expect(out).toEqual([items]);
    // Each read resumes one element at most: a parser that starts the reply over would begin millions of parses.
    expect(p.steps).toBeLessThanOrEqual(n + 1 + reads);
  });
});
