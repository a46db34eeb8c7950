/**
 * What rkvdns may do with Redis, and nothing more: the read-only commands its operators need (GET, HGET,
 * LINDEX, HKEYS, SMEMBERS, LRANGE, HLEN, LLEN, SCARD, TTL, TYPE, HGETALL for CONTROL_KEY), SCAN and MGET.
 * The two that span keys are done here the way each shape needs: SCAN on every master (a cluster client
 * sends SCAN to one random node), MGET grouped by slot (a cross-slot MGET is refused). Values are Buffers,
 * so keys and values of any bytes pass intact.
 */
import type { Redis } from 'ioredis';
import type { Connection } from './connection.js';
import type { ReadPipe } from './pipe.js';
import { commandHead } from './resp.js';
import { SeenKeys } from './seen-keys.js';

export interface KeyReader {
  get(key: Buffer): Promise<Buffer | null>;
  hget(key: Buffer, field: Buffer): Promise<Buffer | null>;
  lindex(key: Buffer, index: number): Promise<Buffer | null>;
  hkeys(key: Buffer): Promise<Buffer[]>;
  smembers(key: Buffer): Promise<Buffer[]>;
  lrange(key: Buffer, start: number, stop: number): Promise<Buffer[]>;
  hlen(key: Buffer): Promise<number>;
  llen(key: Buffer): Promise<number>;
  scard(key: Buffer): Promise<number>;
  /** Seconds to live; -1 without an expiry, -2 for a missing key. */
  ttl(key: Buffer): Promise<number>;
  /**
   * One of the reads above (`read`, its key and the arguments after it) and ttl() of the same key, sent together:
   * the read every single-key query makes.
   */
  withTtl<R extends SingleKeyRead>(read: R, key: Buffer, ...args: ReadArgs<R>): Promise<[ReadValue<R>, number]>;
  /** The type name (`string`, `hash`, …, `none`). */
  type(key: Buffer): Promise<string>;
  /** A hash's fields as text (the CONTROL_KEY overlay). */
  hashText(key: string): Promise<Record<string, string>>;
  /**
   * Every key matching the glob (and `keep`, when given), each once; throws TooManyKeysError beyond maxKeys.
   * `progress` is told the keys so far after each SCAN reply (the scan's own list, which grows as it goes on).
   */
  scan(glob: Buffer, maxKeys: number, keep?: (key: Buffer) => boolean, progress?: (keys: readonly Buffer[]) => void): Promise<Buffer[]>;
  /** Values in key order; null for a missing key or one of another type. */
  mget(keys: readonly Buffer[]): Promise<(Buffer | null)[]>;
  /**
   * The values as mget() reads them, each given to `into` as bytes (keys[i]'s value is b[from, to); `b` is null
   * where mget() gives null), in no object of its own. Only where the reader can (one server, on the pipe).
   */
  mgetInto?(keys: readonly Buffer[], into: ValueSink): Promise<void>;
}

/** Takes keys[i]'s value as its bytes b[from, to); `b` null for none. */
export type ValueSink = (i: number, b: Buffer | null, from: number, to: number) => void;

/** The reads of one key that an answer pairs with that key's TTL. */
export type SingleKeyRead = 'get' | 'hget' | 'lindex' | 'hkeys' | 'smembers' | 'lrange' | 'hlen' | 'llen' | 'scard';
/** A read's arguments after its key. */
export type ReadArgs<R extends SingleKeyRead> = Parameters<KeyReader[R]> extends [Buffer, ...infer A] ? A : never;
/** What a read resolves to. */
export type ReadValue<R extends SingleKeyRead> = Awaited<ReturnType<KeyReader[R]>>;

export class TooManyKeysError extends Error {}

// The next SCAN is asked before a reply's keys arrive, so round trips cost the scan little. At 1000, Redis answers each
// in about a millisecond (what another client may wait behind one), and the values read right behind a reply
// (scan-values.ts) find their keys still in its cache: over a million keys the MGETs cost it 0.6–0.8 s, 1.0 s at 5000.
const SCAN_COUNT = 1000;
const MGET_CHUNK = 500;

/** One SCAN: its reply, and `onCursor` told the next cursor as soon as it is known (with the reply, or before it). */
type ScanStep = (cursor: string, glob: Buffer, onCursor: (next: Buffer) => void) => Promise<[Buffer, Buffer[]]>;

// scanBuffer, not callBuffer: ioredis drops the command name of callBuffer under auto-pipelining.
// The pattern is sent as a Buffer so binary patterns reach Redis intact.
const ioredisScan =
  (node: Redis): ScanStep =>
  (cursor, glob, onCursor) =>
    node.scanBuffer(cursor, 'MATCH', glob as unknown as string, 'COUNT', SCAN_COUNT).then((r) => {
      onCursor(r[0]);
      return r;
    });

const pipedScan =
  (p: ReadPipe): ScanStep =>
  (cursor, glob, onCursor) =>
    p.sendAll('SCAN', [Buffer.from(cursor), SCAN_MATCH, glob, SCAN_COUNT_ARG, SCAN_COUNT_VALUE], true, (first) => onCursor(first as Buffer)) as Promise<
      [Buffer, Buffer[]]
    >;
const SCAN_MATCH = Buffer.from('MATCH');
const SCAN_COUNT_ARG = Buffer.from('COUNT');
const SCAN_COUNT_VALUE = Buffer.from(String(SCAN_COUNT));

/** SCAN one node to the end, adding the keys not seen before to `seen`. */
async function scanNode(
  step: ScanStep,
  glob: Buffer,
  maxKeys: number,
  seen: SeenKeys,
  keep: (key: Buffer) => boolean,
  progress?: (keys: readonly Buffer[]) => void,
): Promise<void> {
  // The next SCAN is asked as soon as this one's cursor is read, before its keys have arrived: Redis scans on
  // while they travel, are parsed and are added.
  interface Asked {
    reply: Promise<[Buffer, Buffer[]]>;
    next: Promise<Asked | null>;
  }
  // Once this walk stops (done, or over MAX_KEYS), no SCAN is asked after it.
  let stopped = false;
  const ask = (cursor: string): Asked => {
    let then!: (a: Asked | null) => void;
    const next = new Promise<Asked | null>((resolve) => (then = resolve));
    let told = false;
    const reply = step(cursor, glob, (c) => {
      if (told) return;
      told = true;
      const text = c.toString();
      then(text === '0' || stopped ? null : ask(text));
    });
    return { reply, next };
  };
  try {
    for (let asked: Asked | null = ask('0'); asked; asked = await asked.next) {
      const [, batch] = await asked.reply;
      for (const k of batch) {
        // Keys not kept are never counted: MAX_KEYS says nothing about keys that are not served.
        if (keep(k) && seen.add(k) && seen.keys.length > maxKeys) throw new TooManyKeysError(`pattern matches more than MAX_KEYS (${maxKeys}) keys`);
      }
      progress?.(seen.keys);
    }
  } finally {
    stopped = true;
  }
}

/** Indexes of `keys` grouped so that each group is one slot (a cluster) or all of them (one server). */
function bySlot(conn: Connection, keys: readonly Buffer[]): number[][] {
  if (!conn.isCluster) return [keys.map((_, i) => i)];
  const groups = new Map<number, number[]>();
  keys.forEach((k, i) => {
    const slot = conn.slotOf(k);
    const at = groups.get(slot);
    if (at) at.push(i);
    else groups.set(slot, [i]);
  });
  return [...groups.values()];
}

const GET = commandHead('GET', 2);
const HGET = commandHead('HGET', 3);
const LINDEX = commandHead('LINDEX', 3);
const HKEYS = commandHead('HKEYS', 2);
const SMEMBERS = commandHead('SMEMBERS', 2);
const LRANGE = commandHead('LRANGE', 4);
const HLEN = commandHead('HLEN', 2);
const LLEN = commandHead('LLEN', 2);
const SCARD = commandHead('SCARD', 2);
const TTL = commandHead('TTL', 2);
const TYPE = commandHead('TYPE', 2);
const HEADS: Record<SingleKeyRead, Buffer> = {
  get: GET,
  hget: HGET,
  lindex: LINDEX,
  hkeys: HKEYS,
  smembers: SMEMBERS,
  lrange: LRANGE,
  hlen: HLEN,
  llen: LLEN,
  scard: SCARD,
};

/** An index or a range's end goes as decimal text, as the single reads send it. */
const asArg = (a: Buffer | number | undefined) => (typeof a === 'number' ? String(a) : a);

/** The single-key reads on the pipelined connection; Redis answers each command with the reply type cast here. */
function pipedReads(p: ReadPipe): Omit<KeyReader, 'hashText' | 'scan'> {
  return {
    get: (key) => p.send(GET, key) as Promise<Buffer | null>,
    hget: (key, field) => p.send(HGET, key, field) as Promise<Buffer | null>,
    lindex: (key, index) => p.send(LINDEX, key, String(index)) as Promise<Buffer | null>,
    hkeys: (key) => p.send(HKEYS, key) as Promise<Buffer[]>,
    smembers: (key) => p.send(SMEMBERS, key) as Promise<Buffer[]>,
    lrange: (key, start, stop) => p.send(LRANGE, key, String(start), String(stop)) as Promise<Buffer[]>,
    hlen: (key) => p.send(HLEN, key) as Promise<number>,
    llen: (key) => p.send(LLEN, key) as Promise<number>,
    scard: (key) => p.send(SCARD, key) as Promise<number>,
    ttl: (key) => p.send(TTL, key) as Promise<number>,
    // The arguments after the key by name, not as a rest array: GET, the read of every counter, comes through here.
    withTtl: ((read: SingleKeyRead, key: Buffer, b?: Buffer | number, c?: number) =>
      p.sendWithTtl(HEADS[read], key, asArg(b), asArg(c))) as KeyReader['withTtl'],
    type: (key) => p.send(TYPE, key) as Promise<string>,
    // A listing page's values: chunks on the pipe, written in one turn, answered in order.
    mget: (keys) => chunkedMget(keys, [keys.map((_, i) => i)], (chunk) => p.sendAll('MGET', chunk) as Promise<(Buffer | null)[]>),
    mgetInto(keys, into) {
      const calls: Promise<void>[] = [];
      for (let start = 0; start < keys.length; start += MGET_CHUNK) {
        let i = start;
        calls.push(p.sendInto('MGET', keys.slice(start, start + MGET_CHUNK), (b, from, to) => into(i++, b, from, to)));
      }
      return Promise.all(calls).then(() => undefined);
    },
  };
}

/**
 * The values of `keys` in key order, read by `mget` in chunks of MGET_CHUNK keys within each group of their indexes
 * (a cluster's slot, or all of them), the chunks sent at once.
 */
async function chunkedMget(
  keys: readonly Buffer[],
  groups: readonly number[][],
  mget: (chunk: Buffer[]) => Promise<(Buffer | null)[]>,
): Promise<(Buffer | null)[]> {
  const values = new Array<Buffer | null>(keys.length);
  const calls: Promise<void>[] = [];
  for (const idx of groups)
    for (let start = 0; start < idx.length; start += MGET_CHUNK) {
      const chunk = idx.slice(start, start + MGET_CHUNK);
      calls.push(mget(chunk.map((i) => keys[i]!)).then((vs) => vs.forEach((v, j) => (values[chunk[j]!] = v))));
    }
  await Promise.all(calls);
  return values;
}

/**
 * A read and TTL pair made of the reader's own two reads: for readers with no pipelined pair (ioredis), and for
 * readers that stand in for some keys, whose reads are what those keys read (and count) as.
 */
export function readThenTtl<R extends SingleKeyRead>(reader: KeyReader, read: R, key: Buffer, ...args: ReadArgs<R>): Promise<[ReadValue<R>, number]> {
  // TypeScript does not narrow reader[read] by R: the read's own signature is ReadArgs<R> and ReadValue<R>.
  const value = (reader[read] as unknown as (key: Buffer, ...rest: ReadArgs<R>) => Promise<ReadValue<R>>).call(reader, key, ...args);
  return Promise.all([value, reader.ttl(key)]);
}

export function redisReader(conn: Connection): KeyReader {
  const r = conn.client;
  const reader: KeyReader = {
    get: (key) => r.getBuffer(key),
    hget: (key, field) => r.hgetBuffer(key, field),
    lindex: (key, index) => r.lindexBuffer(key, index),
    hkeys: (key) => r.hkeysBuffer(key),
    smembers: (key) => r.smembersBuffer(key),
    lrange: (key, start, stop) => r.lrangeBuffer(key, start, stop),
    hlen: (key) => r.hlen(key),
    llen: (key) => r.llen(key),
    scard: (key) => r.scard(key),
    ttl: (key) => r.ttl(key),
    withTtl: (read, key, ...args) => readThenTtl(reader, read, key, ...args),
    type: (key) => r.type(key),
    hashText: (key) => r.hgetall(key),
    async scan(glob, maxKeys, keep = () => true, progress) {
      const seen = new SeenKeys();
      // One server with a pipe scans on it (its replies parse in a tenth of the time); a cluster scans every master.
      const steps = conn.reads ? [pipedScan(conn.reads)] : conn.scanNodes().map(ioredisScan);
      await Promise.all(steps.map((step) => scanNode(step, glob, maxKeys, seen, keep, progress)));
      return seen.keys;
    },
    mget: (keys) => chunkedMget(keys, bySlot(conn, keys), (chunk) => r.mgetBuffer(chunk)),
    ...(conn.reads ? pipedReads(conn.reads) : {}),
  };
  return reader;
}
