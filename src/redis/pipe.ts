/**
 * rkvdns's single-key reads (GET, TTL, HGET, LINDEX, HKEYS, …) on a connection of their own to one Redis,
 * pipelined: the commands of one event-loop turn leave in one write and their replies are matched in order.
 *
 * Why not ioredis for these: each of its commands is an object with an argument array, an encoder pass and a
 * promise of its own. `npm run bench:redis-reads` (GET + TTL of one key, 200 readers at once) measures 33–38 µs
 * of CPU per pair through ioredis against 4.3–4.8 µs here, where commands are written straight into one Buffer. Everything else (SCAN, MGET, the CONTROL_KEY hash,
 * PING, and every read on a cluster, where MOVED and failover belong to ioredis) stays on ioredis.
 *
 * Failure behaves as the ioredis connection does: while the connection is down a read fails at once (no
 * offline queue, SERVFAIL), a read not answered in the command timeout fails together with every read queued
 * behind it (replies come in order, so they would wait just as long), and the connection is made again with
 * the same backoff.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../common/log.js';
import { plainRedisError } from './errors.js';
import { CommandWriter, ReplyParser, RespError, commandHead, type RespReply } from './resp.js';

export interface PipeTarget {
  host: string;
  port: number;
  tls: boolean;
  username?: string;
  password?: string;
  db: number;
}

/**
 * What the pipe needs from a single-server URL, or null for a URL that says more than host, port, credentials
 * and database (options in a query string, a user without a password): ioredis reads those.
 */
export function pipeTarget(url: string): PipeTarget | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if ((u.protocol !== 'redis:' && u.protocol !== 'rediss:') || u.search !== '' || u.hash !== '') return null;
  const path = u.pathname.replace(/^\//, '');
  if (!/^\d*$/.test(path)) return null;
  if (u.username !== '' && u.password === '') return null;
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || 'localhost',
    port: u.port === '' ? 6379 : Number(u.port),
    tls: u.protocol === 'rediss:',
    ...(u.username !== '' ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password !== '' ? { password: decodeURIComponent(u.password) } : {}),
    db: path === '' ? 0 : Number(path),
  };
}

export type PipeStatus = 'idle' | 'connecting' | 'ready' | 'down' | 'closed';

/** Takes one bulk string of a reply as its bytes b[from, to); `b` is null for a nil. */
export type BulkSink = (b: Buffer | null, from: number, to: number) => void;

const AUTH1 = commandHead('AUTH', 2);
const AUTH2 = commandHead('AUTH', 3);
const SELECT = commandHead('SELECT', 2);
const TTL = commandHead('TTL', 2);
/** Milliseconds before reconnect attempt `n` (from 1): the backoff of both connections to Redis. */
export const reconnectDelay = (n: number) => Math.min(50 * n, 1000);

export class ReadPipe {
  private state: PipeStatus = 'idle';
  private socket: net.Socket | null = null;
  private readonly writer = new CommandWriter();
  private readonly parser = new ReplyParser(
    (r) => this.reply(r),
    (first) => this.firsts.get(this.replied)?.(first),
    (b, from, to) => {
      if (this.bulks.size === 0) return false;
      const into = this.bulks.get(this.replied);
      if (into === undefined) return false;
      into(b, from, to);
      return true;
    },
  );
  /** Replies read so far; a command's number is the count of replies before its own. */
  private replied = 0;
  /** Who wants the first element of a command's reply early, by the command's number. */
  private readonly firsts = new Map<number, (first: RespReply) => void>();
  /** Who takes the bulk strings of a command's array reply as bytes, by the command's number. */
  private readonly bulks = new Map<number, BulkSink>();
  // The commands written and not yet answered, oldest first from `head`: three arrays, no object per command.
  private resolves: ((r: RespReply) => void)[] = [];
  private rejects: ((e: Error) => void)[] = [];
  private sentAt: number[] = [];
  private head = 0;
  private flushQueued = false;
  private attempts = 0;
  private wasReady = false;
  private reconnect: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly target: PipeTarget,
    private readonly o: { timeoutMs: number; log: Logger; where: string },
  ) {}

  get status(): PipeStatus {
    return this.state;
  }

  /** Reads written and not yet answered. */
  queued(): number {
    return this.resolves.length - this.head;
  }

  /**
   * Resolves once connected (and authenticated); rejects if the first attempt fails, and keeps trying in the
   * background either way until disconnect().
   */
  connect(): Promise<void> {
    if (this.state !== 'idle' && this.state !== 'closed') return Promise.resolve();
    // Replies come in order, so only the oldest read can be late: one timer for all of them, checking ten times
    // per timeout, so a late read fails within 1.1 times the timeout.
    this.watchdog = setInterval(() => this.checkLate(), Math.max(10, Math.floor(this.o.timeoutMs / 10)));
    this.watchdog.unref();
    return new Promise((resolve, reject) => this.open(resolve, reject));
  }

  /** One command, given as its head (commandHead) and arguments; an error reply rejects. */
  send(head: Buffer, a: Buffer | string, b?: Buffer | string, c?: Buffer | string): Promise<RespReply> {
    return this.refused() ?? this.enqueue(head, a, b, c);
  }

  /**
   * One command of a name and any number of arguments (MGET of a page of keys). `now`: written at once with what
   * this turn queued before it, not at the end of the turn (a SCAN asked before its caller works through the last
   * reply, so that Redis scans on meanwhile). `onFirst` is given the first element of an array reply as soon as it
   * is read, before the rest has arrived (a SCAN's cursor: the next SCAN can be sent while this one's keys arrive).
   */
  sendAll(name: string, args: readonly Buffer[], now = false, onFirst?: (first: RespReply) => void): Promise<RespReply> {
    const refused = this.refused();
    if (refused) return refused;
    if (onFirst) this.firsts.set(this.replied + this.resolves.length - this.head, onFirst);
    this.writer.addAll(commandHead(name, 1 + args.length), args);
    this.noteWrite();
    const reply = new Promise<RespReply>((resolve, reject) => {
      this.resolves.push(resolve);
      this.rejects.push(reject);
    });
    if (now) this.flush();
    return reply;
  }

  /**
   * One command whose reply is an array of bulk strings (MGET), each given to `into` as its bytes, in order (`b` null
   * for a nil), not made a Buffer: a million values read into one packed store make no object each. Resolves once
   * the whole reply has been read.
   */
  sendInto(name: string, args: readonly Buffer[], into: BulkSink): Promise<void> {
    const refused = this.refused();
    if (refused) return refused;
    this.bulks.set(this.replied + this.resolves.length - this.head, into);
    return this.sendAll(name, args).then(() => undefined);
  }

  /**
   * A read of one key and that key's TTL, written together: one promise for the pair, settled by the second
   * reply (or rejected by the first error reply), where two sends and Promise.all would make four.
   */
  sendWithTtl(head: Buffer, key: Buffer, b?: Buffer | string, c?: Buffer | string): Promise<[RespReply, number]> {
    const refused = this.refused();
    if (refused) return refused;
    this.write(head, key, b, c);
    this.write(TTL, key);
    return new Promise<[RespReply, number]>((resolve, reject) => {
      let value: RespReply = null;
      this.resolves.push(
        (r) => (value = r),
        (ttl) => resolve([value, ttl as number]),
      );
      this.rejects.push(reject, reject);
    });
  }

  disconnect(): void {
    this.state = 'closed';
    clearTimeout(this.reconnect);
    clearInterval(this.watchdog);
    this.socket?.destroy();
    this.socket = null;
    this.failAll(new Error(`redis ${this.o.where}: connection closed`));
  }

  /** While the connection is not ready, a read fails at once (nothing is queued offline). */
  private refused(): Promise<never> | undefined {
    return this.state === 'ready' ? undefined : Promise.reject(new Error(`redis ${this.o.where}: not connected (${this.state})`));
  }

  private enqueue(head: Buffer, a: Buffer | string, b?: Buffer | string, c?: Buffer | string): Promise<RespReply> {
    this.write(head, a, b, c);
    return new Promise<RespReply>((resolve, reject) => {
      this.resolves.push(resolve);
      this.rejects.push(reject);
    });
  }

  /** Adds a command to this turn's write, noting when, for the late-reply watchdog. */
  private write(head: Buffer, a: Buffer | string, b?: Buffer | string, c?: Buffer | string): void {
    this.writer.add(head, a, b, c);
    this.noteWrite();
  }

  private noteWrite(): void {
    this.sentAt.push(performance.now());
    if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    if (this.writer.length > 0) this.socket?.write(this.writer.take());
  };

  private reply(r: RespReply): void {
    if (this.firsts.size > 0) this.firsts.delete(this.replied);
    if (this.bulks.size > 0) this.bulks.delete(this.replied);
    this.replied++;
    const i = this.head++;
    const resolve = this.resolves[i];
    if (resolve === undefined) throw new Error('a reply no command asked for');
    if (r instanceof RespError) this.rejects[i]!(r);
    else resolve(r);
    if (this.head === this.resolves.length) {
      this.resolves.length = this.rejects.length = this.sentAt.length = this.head = 0;
    } else if (this.head >= 4096) {
      // A connection that never drains (steady load) still gives back the answered part now and then.
      this.resolves.splice(0, this.head);
      this.rejects.splice(0, this.head);
      this.sentAt.splice(0, this.head);
      this.head = 0;
    }
  }

  private failAll(e: Error): void {
    const rejects = this.rejects.slice(this.head);
    this.firsts.clear();
    this.bulks.clear();
    this.resolves = [];
    this.rejects = [];
    this.sentAt = [];
    this.head = 0;
    this.writer.take();
    this.parser.reset();
    for (const reject of rejects) reject(e);
  }

  private checkLate(): void {
    const oldest = this.sentAt[this.head];
    if (oldest !== undefined && performance.now() - oldest > this.o.timeoutMs)
      this.socket?.destroy(new Error(`no reply in ${this.o.timeoutMs} ms (REDIS_TIMEOUT_MS)`));
  }

  private open(onReady?: () => void, onFail?: (e: Error) => void): void {
    this.state = 'connecting';
    const t = this.target;
    const sock = t.tls
      ? tls.connect({ host: t.host, port: t.port, ...(net.isIP(t.host) ? {} : { servername: t.host }) })
      : net.connect({ host: t.host, port: t.port });
    this.socket = sock;
    sock.setNoDelay(true);
    sock.setTimeout(Math.max(this.o.timeoutMs, 1000), () => sock.destroy(new Error('connect timed out')));
    let failure: Error | undefined;
    sock.on('error', (e: Error) => {
      failure = e;
    });
    sock.on('data', (d: Buffer) => {
      try {
        this.parser.feed(d);
      } catch (e) {
        sock.destroy(e as Error);
      }
    });
    sock.on('close', () => {
      if (this.socket !== sock) return;
      this.socket = null;
      const why = failure ? plainRedisError(failure.message) : 'Redis closed the connection';
      this.failAll(new Error(`redis ${this.o.where}: connection lost (${why})`));
      if (this.state === 'closed') return;
      if (this.state === 'ready') this.o.log.warn(`redis ${this.o.where}: read connection lost (${why}); reconnecting`);
      this.state = 'down';
      onFail?.(failure ?? new Error(why));
      onFail = onReady = undefined;
      this.reconnect = setTimeout(() => this.open(), reconnectDelay(++this.attempts));
      this.reconnect.unref();
    });
    sock.once(t.tls ? 'secureConnect' : 'connect', () => {
      sock.setTimeout(0);
      const handshake: Promise<RespReply>[] = [];
      if (t.password !== undefined) handshake.push(t.username !== undefined ? this.enqueue(AUTH2, t.username, t.password) : this.enqueue(AUTH1, t.password));
      if (t.db !== 0) handshake.push(this.enqueue(SELECT, String(t.db)));
      Promise.all(handshake).then(
        () => {
          if (this.socket !== sock) return;
          this.state = 'ready';
          this.attempts = 0;
          if (this.wasReady) this.o.log.info(`redis ${this.o.where}: read connection made again`);
          this.wasReady = true;
          onReady?.();
          onFail = onReady = undefined;
        },
        (e: Error) => sock.destroy(e),
      );
    });
  }
}
