/**
 * RESP2, the Redis wire format, for the pipelined read connection (pipe.ts): commands written straight into one
 * outgoing Buffer, and replies parsed from the incoming bytes as they arrive. No object is made per command on
 * the way out, and a reply split across reads is parsed once, resuming where the last read ended.
 */

/** A reply: bulk strings as Buffers, simple strings as text, integers, arrays, nil as null, and error replies. */
export type RespReply = Buffer | string | number | null | RespReply[] | RespError;

/** An error reply (`-WRONGTYPE …`): a value of the stream, delivered to the command that caused it. */
export class RespError extends Error {}

/** Protocol bytes that are not RESP2: the stream cannot be read on from there. */
export class RespProtocolError extends Error {}

const CR = 13;
const LF = 10;

/** The bytes that open a command of `argc` arguments (its name included): `*argc\r\n$len\r\nNAME\r\n`. */
export function commandHead(name: string, argc: number): Buffer {
  return Buffer.from(`*${argc}\r\n$${name.length}\r\n${name}\r\n`, 'latin1');
}

/** Commands appended to one growing Buffer, taken whole when written to the socket. */
export class CommandWriter {
  private buf = Buffer.allocUnsafe(16 * 1024);
  private at = 0;

  get length(): number {
    return this.at;
  }

  /** A command: its head (from commandHead) and the arguments the head announced. Text arguments are ASCII. */
  add(head: Buffer, a: Buffer | string, b?: Buffer | string, c?: Buffer | string): void {
    this.raw(head);
    this.bulk(a);
    if (b !== undefined) this.bulk(b);
    if (c !== undefined) this.bulk(c);
  }

  /** A command of any number of arguments (MGET), its head from commandHead(name, 1 + args.length). */
  addAll(head: Buffer, args: readonly Buffer[]): void {
    this.raw(head);
    for (const a of args) this.bulk(a);
  }

  /** The bytes written since the last take; the writer starts a fresh Buffer, since the socket keeps this one. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.at);
    this.buf = Buffer.allocUnsafe(Math.max(16 * 1024, this.buf.length));
    this.at = 0;
    return out;
  }

  private bulk(v: Buffer | string): void {
    const len = v.length;
    // `$len\r\n` + value + `\r\n`: at most 14 bytes around the value.
    this.room(len + 16);
    this.buf[this.at++] = 36; // $
    const buf = this.buf;
    // Keys are mostly under a hundred bytes: their length is written digit by digit, not made a string first.
    if (len < 10) buf[this.at++] = 48 + len;
    else if (len < 100) {
      buf[this.at++] = 48 + Math.floor(len / 10);
      buf[this.at++] = 48 + (len % 10);
    } else this.at += buf.write(String(len), this.at, 'latin1');
    buf[this.at++] = CR;
    buf[this.at++] = LF;
    if (typeof v === 'string') this.at += buf.write(v, this.at, 'latin1');
    else if (len > 64) this.at += v.copy(buf, this.at);
    else {
      // A loop: for a key of a few dozen bytes (an MGET of a page's keys), cheaper than a native copy.
      for (let i = 0; i < len; i++) buf[this.at + i] = v[i]!;
      this.at += len;
    }
    this.buf[this.at++] = CR;
    this.buf[this.at++] = LF;
  }

  private raw(v: Buffer): void {
    this.room(v.length);
    this.at += v.copy(this.buf, this.at);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
}

/** What a parse step returns when the element is not complete in the bytes at hand. */
const MORE = Symbol('more');
/** What a parse step returns when it opened an array whose elements follow. */
const OPENED = Symbol('opened');

/** An array being filled, element by element, across as many reads as its bytes take. */
interface OpenArray {
  items: RespReply[];
  filled: number;
}

/**
 * Replies from a byte stream, in order, each handed to `onReply`. Parsing resumes where it stopped: arrays
 * being filled are kept with the elements they have, and only the bytes of the one incomplete element are
 * kept, so a reply split over many reads is read once (node-redis's parser works the same way). The next
 * parse waits until at least as many bytes as that element is known to need have arrived.
 */
export class ReplyParser {
  private rest: Buffer[] = [];
  private restLength = 0;
  /** Bytes (from the start of the kept rest) needed before the incomplete element can complete. */
  private need = 0;
  private pos = 0;
  private readonly open: OpenArray[] = [];
  /** Element parses begun, completed or not: the parser's work, which stays linear in the stream. */
  steps = 0;

  /**
   * `onFirst`: the first element of a reply that is an array, as soon as it is read (a SCAN's cursor, before its keys).
   * `onBulk`: each bulk string that is an element of a reply that is an array, as its bytes b[from, to) (`b` null for
   * a nil), before it is made a Buffer; true when it took the element, which the reply's array then holds as null. A
   * caller that keeps a reply's values packed (MGET) so makes no object per value.
   */
  constructor(
    private readonly onReply: (r: RespReply) => void,
    private readonly onFirst?: (first: RespReply) => void,
    private readonly onBulk?: (b: Buffer | null, from: number, to: number) => boolean,
  ) {}

  /** Parses what `data` completes; throws RespProtocolError on bytes that are not RESP2. */
  feed(data: Buffer): void {
    let b = data;
    if (this.restLength > 0) {
      this.rest.push(data);
      this.restLength += data.length;
      if (this.restLength < this.need) return;
      b = Buffer.concat(this.rest, this.restLength);
      this.rest = [];
      this.restLength = 0;
    }
    this.pos = 0;
    while (this.pos < b.length) {
      const start = this.pos;
      this.steps++;
      const r = this.element(b);
      if (r === MORE) {
        this.rest = [b.subarray(start)];
        this.restLength = b.length - start;
        this.need -= start;
        return;
      }
      if (r !== OPENED) this.complete(r);
    }
  }

  /** Drops kept bytes and half-filled arrays (the connection they came from is gone). */
  reset(): void {
    this.rest = [];
    this.restLength = 0;
    this.need = 0;
    this.open.length = 0;
  }

  /** A complete element: into the innermost open array, closing every array it fills, or out as a reply. */
  private complete(value: RespReply): void {
    let v = value;
    for (;;) {
      const top = this.open[this.open.length - 1];
      if (!top) {
        this.onReply(v);
        return;
      }
      top.items[top.filled++] = v;
      if (top.filled === 1 && this.open.length === 1) this.onFirst?.(v);
      if (top.filled < top.items.length) return;
      this.open.pop();
      v = top.items;
    }
  }

  /** One element from this.pos: a value, an opened array, or MORE with `need` set (relative to b). */
  private element(b: Buffer): RespReply | typeof MORE | typeof OPENED {
    const start = this.pos;
    // A loop, not b.indexOf: the line is a few bytes (`$30`), and a native call per element costs more than the look.
    let eol = start + 1;
    while (eol < b.length && b[eol] !== CR) eol++;
    if (eol + 1 >= b.length) {
      this.need = b.length + 1;
      return MORE;
    }
    if (b[eol + 1] !== LF) throw new RespProtocolError(`a line not ending in CRLF at byte ${eol}`);
    switch (b[start]) {
      case 43: // + simple string
        this.pos = eol + 2;
        return b.toString('latin1', start + 1, eol);
      case 45: // - error
        this.pos = eol + 2;
        return new RespError(b.toString('utf8', start + 1, eol));
      case 58: // : integer
        this.pos = eol + 2;
        return integer(b, start + 1, eol);
      case 36: {
        // $ bulk string: its header is read again with its body, so nothing is consumed until both are here
        const len = integer(b, start + 1, eol);
        if (len < 0) {
          this.pos = eol + 2;
          if (this.open.length === 1) this.onBulk?.(null, 0, 0);
          return null;
        }
        const end = eol + 2 + len;
        if (end + 2 > b.length) {
          this.need = end + 2;
          return MORE;
        }
        if (b[end] !== CR || b[end + 1] !== LF) throw new RespProtocolError(`a bulk string of ${len} bytes not followed by CRLF`);
        this.pos = end + 2;
        if (this.open.length === 1 && this.onBulk?.(b, end - len, end)) return null;
        return b.subarray(end - len, end);
      }
      case 42: {
        // * array
        const n = integer(b, start + 1, eol);
        this.pos = eol + 2;
        if (n < 0) return null;
        if (n === 0) return [];
        this.open.push({ items: new Array<RespReply>(n), filled: 0 });
        return OPENED;
      }
      default:
        throw new RespProtocolError(`reply type byte 0x${(b[start] ?? 0).toString(16)} is not RESP2`);
    }
  }
}

/** The decimal integer in b[from, to), optionally negative; anything else is a protocol error. */
function integer(b: Buffer, from: number, to: number): number {
  let i = from;
  const negative = b[i] === 45;
  if (negative) i++;
  if (i === to || to - i > 19) throw new RespProtocolError(`'${b.toString('latin1', from, to)}' is not an integer`);
  let n = 0;
  for (; i < to; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) throw new RespProtocolError(`'${b.toString('latin1', from, to)}' is not an integer`);
    n = n * 10 + d;
  }
  return negative ? -n : n;
}
