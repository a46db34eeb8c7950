/**
 * Response rate limiting, as BIND, Knot and NSD do it: UDP responses per second per client network (IPv4 /24,
 * IPv6 /56 by default) and per kind of response (answers, NXDOMAIN, errors), each from its own token
 * bucket. A response over the rate is dropped, except every RRL_SLIP-th one, which goes out as a small TC=1
 * answer so a real client behind that network retries over TCP; TCP is never limited (a spoofed source cannot
 * complete a handshake). Exempt networks (your own resolvers) are never limited. The accounts live in an LRU
 * table of RRL_TABLE_SIZE entries, so a flood from any number of distinct sources holds bounded memory.
 */
import net from 'node:net';
import { LRUCache } from 'lru-cache';
import { RCODE } from '../dns/constants.js';
import { cidrList, inList } from '../common/cidr.js';
import { clientAddress, isPromise, type Handled, type Link, type Resolution } from './chain.js';
import type { ServerStats } from './stats.js';

export interface RrlOptions {
  /** Responses per second per network for answers (NOERROR); 0 turns limiting off. */
  responsesPerSecond: number;
  nxdomainsPerSecond: number;
  errorsPerSecond: number;
  /** Every slip-th limited response is sent as TC=1; 0: all are dropped. */
  slip: number;
  /** Seconds an idle account is remembered. */
  windowSeconds: number;
  ipv4Prefix: number;
  ipv6Prefix: number;
  /** Canonical CIDR list (`a/n,b/m`) never limited, or null. */
  exempt: string | null;
  tableSize: number;
}

export type Verdict = 'send' | 'slip' | 'drop';
type Kind = 'answer' | 'nxdomain' | 'error';

interface Account {
  /** Tokens left: one per response, refilled at the rate, at most one second's worth. */
  tokens: number;
  at: number;
  /** Limited responses so far, for the slip count. */
  limited: number;
}

/** The client network an address belongs to, as text: its first `bits` bits. */
export function networkOf(address: string, ipv4Prefix: number, ipv6Prefix: number): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const a = mapped ? mapped[1]! : address;
  if (net.isIPv4(a)) {
    const n = a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    const masked = ipv4Prefix === 0 ? 0 : Math.floor(n / 2 ** (32 - ipv4Prefix)) * 2 ** (32 - ipv4Prefix);
    return `${[24, 16, 8, 0].map((s) => Math.floor(masked / 2 ** s) % 256).join('.')}/${ipv4Prefix}`;
  }
  const full = expandIpv6(a);
  let bitsLeft = ipv6Prefix;
  const kept = full.map((w) => {
    const keep = Math.max(0, Math.min(16, bitsLeft));
    bitsLeft -= 16;
    return keep === 0 ? 0 : keep === 16 ? w : w & (0xffff << (16 - keep));
  });
  return `${kept.map((w) => w.toString(16)).join(':')}/${ipv6Prefix}`;
}

function expandIpv6(a: string): number[] {
  const [head = '', tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const mid = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...mid, ...t].map((w) => parseInt(w, 16));
}

/** The limiter without sockets: what to do with one response to one client, at a given time. */
export class ResponseRateLimiter {
  private readonly accounts: LRUCache<string, Account>;
  private readonly exempt: net.BlockList | null;

  constructor(
    private readonly o: RrlOptions,
    private readonly now: () => number = Date.now,
  ) {
    // An account idle for the window is forgotten; one in use never is (its age restarts with every response).
    this.accounts = new LRUCache({ max: o.tableSize, ttl: o.windowSeconds * 1000, updateAgeOnGet: true });
    this.exempt = o.exempt ? cidrList(o.exempt) : null;
  }

  get size(): number {
    return this.accounts.size;
  }

  private rate(kind: Kind): number {
    return kind === 'answer' ? this.o.responsesPerSecond : kind === 'nxdomain' ? this.o.nxdomainsPerSecond : this.o.errorsPerSecond;
  }

  verdict(address: string, rcode: number): Verdict {
    const kind: Kind = rcode === RCODE.NOERROR ? 'answer' : rcode === RCODE.NXDOMAIN ? 'nxdomain' : 'error';
    const rate = this.rate(kind);
    if (rate <= 0 || (this.exempt && inList(this.exempt, address))) return 'send';
    const id = `${kind} ${networkOf(address, this.o.ipv4Prefix, this.o.ipv6Prefix)}`;
    const t = this.now();
    let a = this.accounts.get(id);
    if (!a) {
      a = { tokens: rate, at: t, limited: 0 };
      this.accounts.set(id, a);
    } else {
      a.tokens = Math.min(rate, a.tokens + ((t - a.at) / 1000) * rate);
      a.at = t;
    }
    if (a.tokens >= 1) {
      a.tokens -= 1;
      return 'send';
    }
    a.limited++;
    return this.o.slip > 0 && a.limited % this.o.slip === 0 ? 'slip' : 'drop';
  }
}

/** The link: UDP responses only, decided once the response is known. */
export function rrlLink(limiter: ResponseRateLimiter, stats: ServerStats): Link {
  return (qc, next) => {
    if (qc.transport !== 'udp') return next(qc);
    const decide = (r: Handled): Handled => {
      if (r === null) return null;
      const v = limiter.verdict(clientAddress(qc.client), r.answer.rcode);
      if (v === 'send') return r;
      if (v === 'drop') {
        stats.count('rrl_dropped');
        return null;
      }
      return SLIP;
    };
    const r = next(qc);
    return isPromise(r) ? r.then(decide) : decide(r);
  };
}

/** An empty answer with TC=1 (counted as rrl_slipped): the client asks again over TCP, where it is not limited. */
const SLIP: Resolution = { answer: { rcode: RCODE.NOERROR, answers: [], authority: [] }, outcome: 'rrl_slipped', truncate: true };
