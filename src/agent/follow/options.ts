/** `follow`'s flags checked and turned into FollowOptions; a bad value is a usage error naming the flag. */
import { resolve } from 'node:path';
import { DURATION_HINT, parseDuration } from '../../common/duration.js';
import { parseHostPort } from '../../common/hostport.js';
import type { FollowOptions } from './run.js';
import { MAX_DATAGRAM } from './sender.js';
import { defaultStatePath } from './state.js';

export interface FollowFlags {
  to: string;
  state?: string;
  fromStart?: boolean;
  datagramBytes?: string;
  maxLinesPerSecond: string;
  poll: string;
  rotateAfter: string;
  logLevel: string;
}

/** Datagrams across a network stay under a typical MTU, so that none is cut into IP fragments. */
const NETWORK_DATAGRAM = 1400;
const LOOPBACK_DATAGRAM = 16_384;

export function followOptions(files: string[], o: FollowFlags, fail: (msg: string) => never): FollowOptions {
  const to = parseHostPort(o.to);
  if ('error' in to) return fail(`--to: ${to.error}`);
  if (to.host === '0.0.0.0') to.host = '127.0.0.1';
  const loopback = to.host === '::1' || to.host.startsWith('127.') || to.host === 'localhost';
  const integer = (flag: string, v: string, min: number, max: number) => {
    const n = Number(v);
    return Number.isInteger(n) && n >= min && n <= max ? n : fail(`${flag} must be an integer from ${min} to ${max}, got '${v}'`);
  };
  const duration = (flag: string, v: string) => parseDuration(v) ?? fail(`${flag} must be a duration: ${DURATION_HINT} (or 0.5s), got '${v}'`);
  const stdin = files.length === 1 && files[0] === '-';
  if (!stdin && files.includes('-')) fail('- (stdin) cannot be followed together with files');
  const paths = stdin ? files : files.map((f) => resolve(f));
  return {
    files: paths,
    to,
    state: stdin ? null : resolve(o.state ?? defaultStatePath(paths)),
    fromStart: !!o.fromStart,
    datagramBytes:
      o.datagramBytes === undefined ? (loopback ? LOOPBACK_DATAGRAM : NETWORK_DATAGRAM) : integer('--datagram-bytes', o.datagramBytes, 512, MAX_DATAGRAM),
    maxLinesPerSecond: integer('--max-lines-per-second', o.maxLinesPerSecond, 0, 10_000_000),
    pollMs: Math.max(10, duration('--poll', o.poll) * 1000),
    rotateAfterMs: duration('--rotate-after', o.rotateAfter) * 1000,
  };
}
