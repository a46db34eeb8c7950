/**
 * RESP2, the Redis wire format, for the pipelined read connection (pipe.ts): commands written straight into one
 * outgoing Buffer, and replies parsed from the incoming bytes as they arrive. No object is made per command on
 * the way out, and a reply split across reads is parsed again only once the bytes it lacks can be there.
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
    this.at += this.buf.write(String(len), this.at, 'latin1');
    this.buf[this.at++] = CR;
    this.buf[this.at++] = LF;
    if (typeof v === 'string') this.at += this.buf.write(v, this.at, 'latin1');
    else this.at += v.copy(this.buf, this.at);
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

/** What a parse step returns when the reply is not complete in the bytes at hand. */
const MORE = Symbol('more');

/**
 * Replies from a byte stream, in order, each handed to `onReply`. Bytes left over after the last complete
 * reply are kept, and the next parse waits until at least as many bytes as the incomplete reply is known to
 * need have arrived.
 */
export class ReplyParser {
  private rest: Buffer[] = [];
  private restLength = 0;
  /** Bytes (from the start of the kept rest) needed before the incomplete reply can complete. */
  private need = 0;
  private pos = 0;

  constructor(private readonly onReply: (r: RespReply) => void) {}

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
    let start = 0;
    for (;;) {
      if (start === b.length) return;
      this.pos = start;
      const r = this.value(b);
      if (r === MORE) break;
      start = this.pos;
      this.onReply(r);
    }
    this.rest = [b.subarray(start)];
    this.restLength = b.length - start;
    this.need -= start;
  }

  /** Drops kept bytes (the connection they came from is gone). */
  reset(): void {
    this.rest = [];
    this.restLength = 0;
    this.need = 0;
  }

  private value(b: Buffer): RespReply | typeof MORE {
    const start = this.pos;
    const eol = b.indexOf(CR, start + 1);
    if (eol < 0 || eol + 1 >= b.length) {
      this.need = b.length + 1;
      return MORE;
    }
    if (b[eol + 1] !== LF) throw new RespProtocolError(`a line not ending in CRLF at byte ${eol}`);
    this.pos = eol + 2;
    switch (b[start]) {
      case 43: // + simple string
        return b.toString('latin1', start + 1, eol);
      case 45: // - error
        return new RespError(b.toString('utf8', start + 1, eol));
      case 58: // : integer
        return integer(b, start + 1, eol);
      case 36: {
        // $ bulk string
        const len = integer(b, start + 1, eol);
        if (len < 0) return null;
        const end = this.pos + len;
        if (end + 2 > b.length) {
          this.need = end + 2;
          return MORE;
        }
        if (b[end] !== CR || b[end + 1] !== LF) throw new RespProtocolError(`a bulk string of ${len} bytes not followed by CRLF`);
        this.pos = end + 2;
        return b.subarray(end - len, end);
      }
      case 42: {
        // * array
        const n = integer(b, start + 1, eol);
        if (n < 0) return null;
        const items: RespReply[] = new Array<RespReply>(n);
        for (let i = 0; i < n; i++) {
          const item = this.value(b);
          if (item === MORE) return MORE;
          items[i] = item;
        }
        return items;
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
