#!/usr/bin/env node
/**
 * One total in a process of its own, for bench/scaling.mjs: its time, its result and its peak memory, as JSON on
 * stdout. Arguments: prefix, nameserver (host:port), zone, now, [sharded|get].
 */
import { total } from '../dist/index.js';

const [prefix, nameserver, zone, now, mode = 'sharded'] = process.argv.slice(2);
const t0 = performance.now();
const r = await total([prefix, null], {
  zone,
  window: 86400,
  nameservers: [nameserver],
  sharded: mode === 'sharded',
  now: Number(now),
  // The timeout per try is totalize's own (2 s): a resolver drops its reply to a client that waited longer than its
  // discard-timeout (unbound's 1.9 s) and answers the client's next try, so a longer try only waits longer.
});
const ms = performance.now() - t0;
process.stdout.write(
  JSON.stringify({
    ms,
    sum: r.groups.reduce((a, g) => a + g.value, 0),
    groups: r.groups.length,
    keys: r.diagnostics.keysListed,
    queries: r.diagnostics.queries,
    // Peak resident memory of this process (kB on Linux).
    peakMb: process.resourceUsage().maxRSS / 1024,
  }) + '\n',
);
