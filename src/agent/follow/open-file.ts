/** One open log file: read in whole lines from a position, its identity and first bytes kept to recognise it. */
import { closeSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import type { Logger } from '../../common/log.js';
import { HEAD_BYTES, type FilePosition } from './state.js';

/** Whole lines, each ending in a newline. */
export type Chunk = Buffer;

/** Bytes read at a time. */
const CHUNK = 1 << 20;
/** A line longer than this is no log line: it is dropped, up to its newline, and counted. */
export const MAX_LINE = 1 << 20;
const EMPTY = Buffer.alloc(0);
const NEWLINE = Buffer.from('\n');

/** A file's first bytes (hex, up to HEAD_BYTES); empty when it cannot be read. */
export function headOf(path: string): string {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(HEAD_BYTES);
    return b.subarray(0, readSync(fd, b, 0, HEAD_BYTES, 0)).toString('hex');
  } catch {
    return '';
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

export class OpenFile {
  readonly dev: number;
  readonly ino: number;
  private fd: number;
  /** The next byte to read. */
  private readPos: number;
  /** What follows the last newline read: a line still being written. */
  private carry: Buffer = EMPTY;
  private discarding = false;
  private firstBytes: string;
  /** When the file last gave bytes (ms). */
  grewAt: number;
  linesTooLong = 0;

  constructor(
    readonly path: string,
    st: Stats,
    pos: number,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM')
        throw new Error(`cannot read ${path}: permission denied (run follow as a user that may read it, e.g. one in the adm group)`, { cause: e });
      throw new Error(`cannot open ${path}: ${(e as Error).message}`, { cause: e });
    }
    this.dev = st.dev;
    this.ino = st.ino;
    this.readPos = pos;
    this.grewAt = now();
    this.firstBytes = this.head();
  }

  /** The file's first bytes now, as hex (up to HEAD_BYTES). */
  head(): string {
    const b = Buffer.alloc(HEAD_BYTES);
    return b.subarray(0, readSync(this.fd, b, 0, HEAD_BYTES, 0)).toString('hex');
  }

  seek(pos: number): void {
    this.readPos = pos;
    this.carry = EMPTY;
  }

  /** Reads from the start again (the file was truncated). */
  restart(): void {
    this.seek(0);
    this.discarding = false;
    this.firstBytes = this.head();
  }

  /** The first bytes recorded when they were read (hex). */
  get recordedHead(): string {
    return this.firstBytes;
  }

  position(): FilePosition {
    return { dev: this.dev, ino: this.ino, pos: this.readPos - this.carry.length, head: this.firstBytes };
  }

  /** Whole lines read since the last call, or null when there are none now. */
  read(): Chunk | null {
    const size = fstatSync(this.fd).size;
    if (size <= this.readPos) return null;
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - this.readPos));
    const n = readSync(this.fd, buf, 0, buf.length, this.readPos);
    if (n === 0) return null;
    this.readPos += n;
    this.grewAt = this.now();
    if (this.firstBytes.length < HEAD_BYTES * 2) this.firstBytes = this.head();
    return this.lines(buf.subarray(0, n));
  }

  /** At the end: whether the file is now shorter than what was read, or begins with other bytes (copytruncate). */
  truncated(): boolean {
    if (fstatSync(this.fd).size < this.readPos) return true;
    const now = this.head();
    return !now.startsWith(this.firstBytes.slice(0, now.length));
  }

  /** The last line, newline or not (the file will not grow again), and the file closed. */
  finish(): Chunk | null {
    const last = this.carry.length && !this.discarding ? Buffer.concat([this.carry, NEWLINE]) : null;
    this.close();
    return last;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private lines(data: Buffer): Chunk | null {
    let bytes = this.carry.length ? Buffer.concat([this.carry, data]) : data;
    if (this.discarding) {
      const nl = bytes.indexOf(10);
      if (nl < 0) {
        this.carry = EMPTY;
        return null;
      }
      this.discarding = false;
      bytes = bytes.subarray(nl + 1);
    }
    const cut = bytes.lastIndexOf(10);
    const rest = bytes.subarray(cut + 1);
    if (rest.length > MAX_LINE) {
      this.linesTooLong++;
      this.log.warn(`${this.path}: a line of more than ${MAX_LINE} bytes is no log line: skipped up to its newline`);
      this.carry = EMPTY;
      this.discarding = true;
    } else this.carry = Buffer.from(rest);
    return cut < 0 ? null : bytes.subarray(0, cut + 1);
  }
}
