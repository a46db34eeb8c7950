/**
 * Response rate limiting, as BIND, Knot and NSD do it: UDP responses per second per client network (IPv4 /24,
 * IPv6 /56 by default) and per kind of response (answers, NXDOMAIN, errors), each from its own token
 * bucket. A response over the rate is dropped, except every RRL_SLIP-th one, which goes out as a small TC=1
 * answer so a real client behind that network retries over TCP; TCP is never limited (a spoofed source cannot
 * complete a handshake). Exempt networks (your own resolvers) are never limited. The accounts live in an LRU
 * table of RRL_TABLE_SIZE entries, so a flood from any number of distinct sources holds bounded memory.
 */
import { LRUCache } from 'lru-cache';
import { AddressList } from '../common/cidr.js';
import { addressText, type ClientAddress } from '../dns/client-address.js';
import { RCODE } from '../dns/constants.js';
import { isPromise, type Handled, type Link, type Resolution } from './chain.js';
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

/** The address's bytes with all but the first `bits` cleared. */
function masked(bytes: Buffer, bits: number): Buffer {
  const out = Buffer.alloc(bytes.length);
  for (let i = 0; i < bytes.length && bits > 0; i++, bits -= 8) out[i] = bits >= 8 ? bytes[i]! : bytes[i]! & (0xff << (8 - bits));
  return out;
}

/** The client network an address belongs to, as text (`192.0.2.0/24`). */
export function networkOf(client: Pick<ClientAddress, 'family' | 'bytes'>, ipv4Prefix: number, ipv6Prefix: number): string {
  const bits = client.family === 4 ? ipv4Prefix : ipv6Prefix;
  return `${addressText({ family: client.family, bytes: masked(client.bytes, bits) })}/${bits}`;
}

/** The limiter without sockets: what to do with one response to one client, at a given time. */
export class ResponseRateLimiter {
  private readonly accounts: LRUCache<string, Account>;
  private readonly exempt: AddressList | null;

  constructor(
    private readonly o: RrlOptions,
    private readonly now: () => number = Date.now,
  ) {
    // An account idle for the window is forgotten; one in use never is (its age restarts with every response).
    this.accounts = new LRUCache({ max: o.tableSize, ttl: o.windowSeconds * 1000, updateAgeOnGet: true });
    this.exempt = o.exempt ? new AddressList(o.exempt) : null;
  }

  get size(): number {
    return this.accounts.size;
  }

  /** Forgets the networks idle for the window (the table drops them only when it meets them again, or is full). */
  prune(): void {
    this.accounts.purgeStale();
  }

  private rate(kind: Kind): number {
    return kind === 'answer' ? this.o.responsesPerSecond : kind === 'nxdomain' ? this.o.nxdomainsPerSecond : this.o.errorsPerSecond;
  }

  verdict(client: Pick<ClientAddress, 'family' | 'bytes'>, rcode: number): Verdict {
    const kind: Kind = rcode === RCODE.NOERROR ? 'answer' : rcode === RCODE.NXDOMAIN ? 'nxdomain' : 'error';
    const rate = this.rate(kind);
    if (rate <= 0 || this.exempt?.has(client)) return 'send';
    const id = `${kind} ${networkOf(client, this.o.ipv4Prefix, this.o.ipv6Prefix)}`;
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
  // Every response counts against its client's rate: a repeat sent from the cache would escape the limit.
  const run: Link['run'] = (qc, next) => {
    if (qc.transport !== 'udp') return next(qc);
    const decide = (r: Handled): Handled => {
      if (r === null) return null;
      const v = limiter.verdict(qc.client, r.answer.rcode);
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
  return { name: 'RRL', cache: 'query', run };
}

/** An empty answer with TC=1 (counted as rrl_slipped): the client asks again over TCP, where it is not limited. */
const SLIP: Resolution = { answer: { rcode: RCODE.NOERROR, answers: [], authority: [] }, outcome: 'rrl_slipped', truncate: true };
