/**
 * Lines that datagram boundaries cut, put back together per sender. `nc -u` and `tail -f | nc -u` send whatever
 * one read gave them (16 KiB at a time), so a datagram may end inside a line that the sender's next datagram
 * finishes. The rule that tells the kinds of datagram apart:
 * - a datagram is cut into lines at newlines;
 * - the text after its last newline is the start of a line: it is kept until the same sender (address and port)
 *   sends again, and that datagram's text up to its first newline finishes it;
 * - a datagram with no newline at all is one whole line (syslog, `logger`, statsd-style senders), unless its
 *   sender has a line waiting, which it then continues (a line longer than a datagram);
 * - a kept line is taken as it is after `timeoutMs` without its sender finishing it (a file whose last line has no
 *   newline), or when more than `maxSenders` senders have one waiting (the oldest goes first), and at shutdown;
 * - a kept line longer than `maxBytes` is dropped, with the rest of it up to its sender's next newline.
 * Each of these outcomes is counted.
 */
import type { AgentStats } from './stats.js';

export interface ReassemblyLimits {
  /** How long a kept line waits for the rest of it (ms); 0: no reassembly, every datagram stands alone. */
  timeoutMs: number;
  /** The longest line kept (bytes); longer ones are dropped. */
  maxBytes: number;
  /** Senders with a line waiting, at most. */
  maxSenders: number;
}

interface Partial {
  /** The line so far; empty while discarding. */
  bytes: Buffer;
  /** When it was kept (ms). */
  since: number;
  /** Dropping the rest of an over-long line, up to the sender's next newline. */
  discarding: boolean;
}

const NO_PARTIALS: readonly Buffer[] = [];

export class LineReassembler {
  private readonly partials = new Map<string, Partial>();

  constructor(
    private readonly limits: ReassemblyLimits,
    private readonly stats: AgentStats,
    private readonly now: () => number = Date.now,
  ) {}

  /** Senders with a line waiting now. */
  get held(): number {
    return this.partials.size;
  }

  /**
   * The text of `datagram` to cut into lines, with its sender's kept line in front of it and its own unfinished
   * line kept back; null when nothing in it is complete yet. `sender` is asked for only when a line is kept or
   * waiting, so a datagram that ends in a newline costs no key.
   * `expired` gets the kept lines this call takes as they are (the oldest, past maxSenders).
   */
  take(datagram: Buffer, sender: () => string, expired: (line: Buffer) => void): Buffer | null {
    if (this.limits.timeoutMs === 0) return datagram;
    const last = datagram.lastIndexOf(10);
    const endsWhole = last === datagram.length - 1;
    if (this.partials.size === 0 && (endsWhole || last < 0)) return datagram;
    const id = sender();
    const kept = this.partials.get(id);
    if (!kept) {
      if (endsWhole || last < 0) return datagram;
      this.keep(id, datagram.subarray(last + 1), false, expired);
      return datagram.subarray(0, last + 1);
    }
    if (last < 0) {
      // Inside one long line: it continues the kept one.
      this.extend(id, kept, datagram);
      return null;
    }
    const first = datagram.indexOf(10);
    this.partials.delete(id);
    let head: Buffer | null;
    if (kept.discarding) head = datagram.subarray(first + 1, last + 1);
    else if (kept.bytes.length + first > this.limits.maxBytes) {
      this.stats.dropped_partial_too_long++;
      head = datagram.subarray(first + 1, last + 1);
    } else {
      this.stats.partial_lines_joined++;
      head = Buffer.concat([kept.bytes, datagram.subarray(0, last + 1)]);
    }
    if (!endsWhole) this.keep(id, datagram.subarray(last + 1), false, expired);
    return head.length > 0 ? head : null;
  }

  /** Kept lines waiting longer than the timeout, taken out to be counted as they are. */
  expire(): readonly Buffer[] {
    if (this.partials.size === 0) return NO_PARTIALS;
    const before = this.now() - this.limits.timeoutMs;
    const out: Buffer[] = [];
    // In the order kept, so the first one still young ends the walk.
    for (const [id, p] of this.partials) {
      if (p.since > before) break;
      this.partials.delete(id);
      if (!p.discarding) out.push(this.taken(p));
    }
    return out;
  }

  /** Every kept line, taken as it is (shutdown). */
  drain(): Buffer[] {
    const out = [...this.partials.values()].filter((p) => !p.discarding).map((p) => this.taken(p));
    this.partials.clear();
    return out;
  }

  private taken(p: Partial): Buffer {
    this.stats.partial_lines_expired++;
    return p.bytes;
  }

  private keep(id: string, bytes: Buffer, discarding: boolean, expired: (line: Buffer) => void): void {
    if (bytes.length > this.limits.maxBytes) {
      this.stats.dropped_partial_too_long++;
      bytes = Buffer.alloc(0);
      discarding = true;
    }
    if (this.partials.size >= this.limits.maxSenders) {
      const [oldest, p] = this.partials.entries().next().value as [string, Partial];
      this.partials.delete(oldest);
      if (!p.discarding) expired(this.taken(p));
    }
    // A copy: the datagram's buffer is not held for the sake of a few bytes of it.
    this.partials.set(id, { bytes: discarding ? bytes : Buffer.from(bytes), since: this.now(), discarding });
  }

  private extend(id: string, kept: Partial, more: Buffer): void {
    if (kept.discarding) return;
    if (kept.bytes.length + more.length > this.limits.maxBytes) {
      this.stats.dropped_partial_too_long++;
      this.partials.set(id, { bytes: Buffer.alloc(0), since: kept.since, discarding: true });
      return;
    }
    kept.bytes = Buffer.concat([kept.bytes, more]);
  }
}
