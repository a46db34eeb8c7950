/**
 * EXPOSE_KEYS: the keys rkvdns serves. Every read goes through here, so every operator honours it: a key
 * outside the globs reads exactly as a missing key (nil, empty, 0, no TTL, type none: no oracle), and SCAN,
 * hence every listing, count and shard operator, never returns one. The agent's own bookkeeping keys
 * (`totalizer-agent:*`) stay hidden unless a glob names them, also when EXPOSE_KEYS is not set.
 */
import { globMatcher } from '../query/glob.js';
import { readThenTtl, type KeyReader } from './reader.js';

/** Keys the agent writes for its own bookkeeping (sequence tokens), never counters. */
export const AGENT_KEY_PREFIX = 'totalizer-agent:';

/** Globs from the setting's text: separated by whitespace; a space inside a glob is written `\ `. */
export function splitGlobs(text: string): string[] {
  return text
    .trim()
    .split(/(?<!\\)\s+/)
    .filter(Boolean);
}

/** Whether a key is served, for the setting's value (null: every key but the agent's bookkeeping). */
export function exposedKeys(globs: string | null): (key: Buffer) => boolean {
  const prefix = Buffer.from(AGENT_KEY_PREFIX, 'latin1');
  const list = globs === null ? [] : splitGlobs(globs);
  // A glob names the bookkeeping keys when it starts with their prefix literally.
  const namesBookkeeping = list.some((g) => g.startsWith(AGENT_KEY_PREFIX));
  const matchers = list.map((g) => globMatcher(Buffer.from(g, 'latin1')));
  const inGlobs = globs === null ? () => true : (key: Buffer) => matchers.some((m) => m(key));
  if (namesBookkeeping) return inGlobs;
  return (key) => !startsWith(key, prefix) && inGlobs(key);
}

/** Whether key begins with prefix: a loop, not a view and a native compare, for every key a scan lists. */
function startsWith(key: Buffer, prefix: Buffer): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

/**
 * The reader with every key outside `exposed` reading as missing, each such read or listed key reported to
 * `hidden`. The CONTROL_KEY hash is not a served key.
 */
export function exposedReader(reader: KeyReader, isExposed: (key: Buffer) => boolean, hidden: (how: 'read' | 'listed') => void = () => undefined): KeyReader {
  const exposed = (key: Buffer) => isExposed(key) || (hidden('read'), false);
  const listed = (key: Buffer) => isExposed(key) || (hidden('listed'), false);
  const nil = Promise.resolve(null);
  const none = Promise.resolve([] as Buffer[]);
  const zero = Promise.resolve(0);
  const shown: KeyReader = {
    get: (k) => (exposed(k) ? reader.get(k) : nil),
    hget: (k, f) => (exposed(k) ? reader.hget(k, f) : nil),
    lindex: (k, i) => (exposed(k) ? reader.lindex(k, i) : nil),
    hkeys: (k) => (exposed(k) ? reader.hkeys(k) : none),
    smembers: (k) => (exposed(k) ? reader.smembers(k) : none),
    lrange: (k, a, b) => (exposed(k) ? reader.lrange(k, a, b) : none),
    hlen: (k) => (exposed(k) ? reader.hlen(k) : zero),
    llen: (k) => (exposed(k) ? reader.llen(k) : zero),
    scard: (k) => (exposed(k) ? reader.scard(k) : zero),
    ttl: (k) => (exposed(k) ? reader.ttl(k) : Promise.resolve(-2)),
    // A hidden key's pair is its two reads here, each one a hidden read, as the read and its TTL apart would be.
    withTtl: (read, k, ...args) => (isExposed(k) ? reader.withTtl(read, k, ...args) : readThenTtl(shown, read, k, ...args)),
    type: (k) => (exposed(k) ? reader.type(k) : Promise.resolve('none')),
    hashText: (k) => reader.hashText(k),
    scan: (glob, maxKeys, keep, progress) => reader.scan(glob, maxKeys, keep ? (k) => listed(k) && keep(k) : listed, progress),
    // MGET is only asked for keys a scan returned, which are served ones already.
    mget: (keys) => reader.mget(keys),
    ...(reader.mgetInto ? { mgetInto: reader.mgetInto.bind(reader) } : {}),
  };
  return shown;
}
