/**
 * The batched UDP addon (udp_batch.cc, over udp_core.h) as JavaScript sees it: its types, the layout of the
 * records it exchanges (records.h), and loading it. The layout is read from the build itself and checked against
 * what this side reads, so a stale build is refused with a way to fix it rather than misread.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Why the kernel refused one answer (kSendFailureNames in udp_core.cc). */
export const SEND_FAILURES = ['msgsize', 'access', 'unreachable', 'permission', 'invalid', 'family', 'other'] as const;
export type SendFailure = (typeof SEND_FAILURES)[number];

/**
 * Offsets in a record (records.h): u16 payload length, u16 port, u8 family (4 or 6; REFRESH set on a query already
 * answered), 16 address bytes, u32 IPv6 scope, u64 arrival (ns), then the payload at HEADER.
 */
export const LAYOUT = {
  header: 33,
  port: 2,
  family: 4,
  address: 5,
  scope: 21,
  arrival: 25,
  /** Family and address: a client as cache() takes it. */
  clientBytes: 17,
  refresh: 0x80,
  /** Tallies the addon counts repeats under (AnswerCache::kTallies). */
  tallies: 64,
  /** Query datagrams over this are dropped (and counted). */
  maxQuery: 4096,
  /** Queries waiting for the main thread at most; beyond it they are dropped (and counted). */
  maxWaiting: 4096,
} as const;

export interface NativeUdpStats {
  oversize: number;
  sendDropped: number;
  queueDropped: number;
  cacheRefused: number;
  cacheEvicted: number;
  sendFailed: Record<SendFailure, number>;
  sojourn: number[];
  sojournSeconds: number;
  cached: number;
}

/** The addon's socket. */
export interface NativeUdp {
  port(): number;
  send(records: Buffer, count: number): number;
  /** Keeps `answer` for repeats of `query` in place of any answer kept for it; one it cannot keep still drops that. */
  cache(query: Buffer, answer: Buffer, untilMs: number, agesAtMs: number, refreshAtMs: number, tally: number, client: Buffer): boolean;
  cacheByClient(on: boolean): void;
  stats(): NativeUdpStats;
  close(): void;
}

export type NativeUdpClass = new (
  host: string,
  port: number,
  reusePort: boolean,
  onBatch: (records: Buffer, count: number) => void,
  sojournBounds: readonly number[],
  cacheCounts: Float64Array,
  onError: (message: string) => void,
) => NativeUdp;

let addon: NativeUdpClass | null | undefined;
let addonError = '';

/** The addon, or null when it is not there (no compiler at install, not Linux) or stale: then `whyNoAddon()` says why. */
export function loadUdpAddon(): NativeUdpClass | null {
  if (addon !== undefined) return addon;
  try {
    const require = createRequire(import.meta.url);
    const load = require('node-gyp-build') as (dir: string) => { UdpBatch: NativeUdpClass; layout?: Record<string, number> };
    const built = load(fileURLToPath(new URL('../..', import.meta.url)));
    const differs = Object.entries(LAYOUT).filter(([k, v]) => built.layout?.[k] !== v);
    if (differs.length > 0) throw new Error(`the built addon is out of date (its record layout differs in ${differs.map(([k]) => k).join(', ')})`);
    addon = built.UdpBatch;
  } catch (e) {
    addon = null;
    addonError = (e as Error).message.split('\n')[0]!;
  }
  return addon;
}

export function whyNoAddon(): string {
  return `the batched UDP addon is not available (${addonError}); build it with npm run build:native (Linux, g++ and make)`;
}
