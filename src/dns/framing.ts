/**
 * RFC 1035 TCP framing: every message is preceded by its length in two bytes. Pure, so its edge cases (a
 * message split across reads, several in one read, a length too short to be DNS) are tested without sockets.
 */
import { HEADER_LEN } from './constants.js';

/** Reassembles messages from the chunks a socket delivers. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Bytes of an incomplete message held (0 when every message received so far was whole). */
  get held(): number {
    return this.buf.length;
  }

  /**
   * The whole messages completed by `chunk` (views into the received bytes); `bad` when a length prefix
   * after them is shorter than a DNS header: the stream cannot be trusted past it.
   */
  push(chunk: Buffer): { messages: Buffer[]; bad: boolean } {
    let buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const messages: Buffer[] = [];
    let bad = false;
    while (buf.length >= 2) {
      const len = buf.readUInt16BE(0);
      if (len < HEADER_LEN) {
        bad = true;
        break;
      }
      if (buf.length < 2 + len) break;
      messages.push(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
    }
    this.buf = buf;
    return { messages, bad };
  }
}

/** The message with its two-byte length prefix. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + message.length);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}
