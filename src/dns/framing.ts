/**
 * RFC 1035 TCP framing: every message is preceded by its length in two bytes. Pure, so its edge cases (a
 * message split across reads, several in one read, a length too short to be DNS) are tested without sockets.
 */
import { HEADER_LEN } from './constants.js';

/**
 * Reassembles messages from the chunks a socket delivers. A message that lies within one chunk is a view of it; only
 * one that spans chunks is copied, into a Buffer of its own size: a million-key walk reads 50 MB of pages, and
 * joining what was left of each read to the next would copy every byte again.
 */
export class FrameReader {
  /** A message begun in an earlier chunk, at its full size, and how much of it has arrived. */
  private partial: Buffer | null = null;
  private filled = 0;
  /** The first byte of a length prefix that the chunk ended after (-1: none). */
  private lengthHigh = -1;
  /** The bytes from a length shorter than a header on: the stream cannot be read on from there. */
  private broken: Buffer | null = null;

  /** Bytes of an incomplete message held, its length prefix included (0 when every message so far was whole). */
  get held(): number {
    if (this.broken) return this.broken.length;
    return (this.lengthHigh >= 0 ? 1 : 0) + (this.partial ? 2 + this.filled : 0);
  }

  /**
   * The whole messages completed by `chunk`; `bad` when a length prefix after them is shorter than a DNS header:
   * the stream cannot be trusted past it.
   */
  push(chunk: Buffer): { messages: Buffer[]; bad: boolean } {
    const messages: Buffer[] = [];
    if (this.broken) return { messages, bad: true };
    let at = 0;
    if (this.lengthHigh >= 0 && chunk.length > 0) {
      const len = (this.lengthHigh << 8) | chunk[0]!;
      this.lengthHigh = -1;
      if (len < HEADER_LEN) return this.fail(messages, Buffer.from([len >> 8, len & 0xff, ...chunk.subarray(1)]));
      this.partial = Buffer.allocUnsafe(len);
      this.filled = 0;
      at = 1;
    }
    if (this.partial) {
      const take = Math.min(this.partial.length - this.filled, chunk.length - at);
      chunk.copy(this.partial, this.filled, at, at + take);
      this.filled += take;
      at += take;
      if (this.filled < this.partial.length) return { messages, bad: false };
      messages.push(this.partial);
      this.partial = null;
    }
    while (chunk.length - at >= 2) {
      const len = chunk.readUInt16BE(at);
      if (len < HEADER_LEN) return this.fail(messages, chunk.subarray(at));
      if (chunk.length - at - 2 < len) {
        // Begun here, ended by a later chunk.
        this.partial = Buffer.allocUnsafe(len);
        this.filled = chunk.copy(this.partial, 0, at + 2);
        return { messages, bad: false };
      }
      messages.push(chunk.subarray(at + 2, at + 2 + len));
      at += 2 + len;
    }
    if (at < chunk.length) this.lengthHigh = chunk[at]!;
    return { messages, bad: false };
  }

  private fail(messages: Buffer[], rest: Buffer): { messages: Buffer[]; bad: boolean } {
    this.broken = rest;
    return { messages, bad: true };
  }
}

/** The message with its two-byte length prefix. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + message.length);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}
