/**
 * Whole lines to the agent over UDP: as many as fit in one datagram (`maxBytes`), never a line cut across two,
 * at most `maxLinesPerSecond` (lines wait in the file, none is dropped for the rate). UDP says nothing of delivery,
 * but a socket connected to a port where nothing listens on this host gets the kernel's refusal on its next send:
 * then the datagram before it was refused too, and both are held, with the lines after them, until the agent
 * listens again (a probe of two empty datagrams, both accepted); confirm() asks after the last datagram the same
 * way. Across a network no refusal may come: lines sent while the agent is away are lost there.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { HostPort } from '../../common/hostport.js';
import type { Logger } from '../../common/log.js';

/** The most one UDP datagram can carry over IPv4. */
export const MAX_DATAGRAM = 65_507;
const PROBE = Buffer.alloc(0);

export interface SenderCounts {
  lines: number;
  datagrams: number;
  /** Lines longer than a datagram can carry, skipped. */
  linesTooLong: number;
  /** Times the agent refused (nothing listening), each followed by a wait until it listened again. */
  refusals: number;
}

export class LineSender {
  readonly counts: SenderCounts = { lines: 0, datagrams: 0, linesTooLong: 0, refusals: 0 };
  private sock: dgram.Socket | null = null;
  /** The last datagram sent, until a later send shows it was not refused. */
  private previous: Buffer | null = null;
  private tokens: number;
  private filledAt = Date.now();
  private stopping = false;

  constructor(
    private readonly to: HostPort,
    private readonly maxBytes: number,
    private readonly maxLinesPerSecond: number,
    private readonly log: Logger,
  ) {
    this.tokens = maxLinesPerSecond / 10;
  }

  async connect(): Promise<void> {
    const sock = dgram.createSocket(net.isIPv6(this.to.host) ? 'udp6' : 'udp4');
    // Errors arrive with the sends; an 'error' event would otherwise end the process.
    sock.on('error', (e) => this.log.debug(`udp ${e.message}`));
    await new Promise<void>((resolve) => sock.connect(this.to.port, this.to.host, resolve));
    this.sock = sock;
  }

  /** Sends `text` (whole lines, each ending in a newline); resolves once every datagram of it is sent. */
  async send(text: Buffer): Promise<void> {
    let start = 0;
    while (start < text.length) {
      let end = Math.min(text.length, start + this.maxBytes);
      if (end < text.length) end = text.lastIndexOf(10, end - 1) + 1;
      if (end <= start) {
        // One line longer than maxBytes: alone, if a datagram can carry it.
        end = text.indexOf(10, start) + 1 || text.length;
        if (end - start > MAX_DATAGRAM) {
          this.counts.linesTooLong++;
          this.log.warn(`a line of ${end - start} bytes is longer than a UDP datagram can carry: skipped`);
          start = end;
          continue;
        }
      }
      const datagram = text.subarray(start, end);
      const lines = countLines(datagram);
      await this.paced(lines);
      await this.deliver(datagram);
      this.counts.lines += lines;
      this.counts.datagrams++;
      start = end;
    }
  }

  /**
   * Makes sure the last datagram sent was not refused (an empty datagram after it draws the refusal), resending it
   * once the agent listens: call before saving the position of what was sent.
   */
  async confirm(): Promise<void> {
    const last = this.previous;
    if (!last) return;
    const err = await this.sendOne(PROBE);
    if (err?.code === 'ECONNREFUSED') {
      this.previous = null;
      this.counts.refusals++;
      this.log.warn(`nothing listens at ${this.where()} (is totalizer-agent running?): holding the lines until it does`);
      await this.untilListening();
      this.log.info(`${this.where()} listens again: sending the held lines`);
      await this.deliver(last);
    }
    this.previous = null;
  }

  /** Ends any wait for the agent; what was not sent stays unsent (its position is not saved). */
  stop(): void {
    this.stopping = true;
  }

  close(): void {
    this.sock?.close();
    this.sock = null;
  }

  private async deliver(datagram: Buffer): Promise<void> {
    let err = await this.sendOne(datagram);
    while (err) {
      if (this.stopping) throw new Error('stopped while waiting for the agent');
      if (err.code !== 'ECONNREFUSED') {
        this.log.warn(`sending to ${this.where()} failed (${err.message}): trying again in 1 s`);
        await sleep(1000);
        err = await this.sendOne(datagram);
        continue;
      }
      this.counts.refusals++;
      this.log.warn(`nothing listens at ${this.where()} (is totalizer-agent running?): holding the lines until it does`);
      await this.untilListening();
      this.log.info(`${this.where()} listens again: sending the held lines`);
      // The refusal came with this send, for the one before it: that one is sent again first.
      err = (this.previous && (await this.sendOne(this.previous))) || (await this.sendOne(datagram));
    }
    this.previous = datagram;
  }

  private async untilListening(): Promise<void> {
    for (let waitMs = 100; ; waitMs = Math.min(2000, waitMs * 2)) {
      await sleep(waitMs);
      if (this.stopping) throw new Error('stopped while waiting for the agent');
      // The first probe draws the refusal (if any) that the second reports.
      if (!(await this.sendOne(PROBE)) && !(await this.sendOne(PROBE))) return;
    }
  }

  private sendOne(b: Buffer): Promise<NodeJS.ErrnoException | null> {
    return new Promise((resolve) => this.sock!.send(b, (e) => resolve(e ?? null)));
  }

  /**
   * Waits until `lines` more fit the rate: a bucket refilled at maxLinesPerSecond holding a tenth of a second's
   * worth, so that a backlog leaves at the rate, not as one burst the agent's socket buffer cannot hold.
   */
  private async paced(lines: number): Promise<void> {
    if (this.maxLinesPerSecond === 0) return;
    const capacity = this.maxLinesPerSecond / 10;
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(capacity, this.tokens + ((now - this.filledAt) / 1000) * this.maxLinesPerSecond);
      this.filledAt = now;
      if (this.tokens >= Math.min(lines, capacity)) break;
      await sleep(Math.ceil(((Math.min(lines, capacity) - this.tokens) / this.maxLinesPerSecond) * 1000));
    }
    this.tokens -= lines;
  }

  private where(): string {
    return `udp ${this.to.host.includes(':') ? `[${this.to.host}]` : this.to.host}:${this.to.port}`;
  }
}

function countLines(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
