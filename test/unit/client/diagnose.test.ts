import { describe, expect, it } from 'vitest';
import { listingFailure, type FailedListing } from '../../../src/client/diagnose.js';

const base: FailedListing = {
  name: 'web;*.keys.rkvdns.test',
  zone: 'rkvdns.test',
  reason: 'SERVFAIL',
  viaResolver: false,
  tried: ['the whole listing: SERVFAIL'],
};

describe('listingFailure: what was tried, and the likely causes by name', () => {
  const cases: [string, Partial<FailedListing>, RegExp][] = [
    ['over MAX_KEYS', { overMaxKeys: 100000 }, /more than the server's MAX_KEYS \(100000\) keys: raise MAX_KEYS/],
    ['NXDOMAIN for the listing', { reason: 'NXDOMAIN' }, /the zone rkvdns\.test is not answered by rkvdns on this path: check --zone/],
    ['REFUSED', { reason: 'REFUSED' }, /the resolver refuses this client \(BIND allow-query/],
    ['a timeout', { reason: 'no answer from 127.0.0.1:53 in 2000 ms' }, /nothing answered, not even the zone's SOA: rkvdns is not running or not reachable/],
    [
      'a refused port',
      { reason: 'nothing answers at 127.0.0.1:5300 (connection refused)' },
      /nothing listens there: rkvdns is not running on that address and port/,
    ],
    [
      'through a resolver that cannot reach rkvdns: its SOA fails too',
      { notSize: 'every narrower glob was refused too', viaResolver: true, zoneAnswered: false },
      /so not for their size: the resolver cannot reach rkvdns or rejects its answers \(unbound refuses to ask a loopback address[^;]*; [^]*, or rkvdns cannot read Redis/,
    ],
    [
      'through a resolver that reaches rkvdns: its SOA passes',
      { notSize: 'every narrower glob was refused too', viaResolver: true, zoneAnswered: true },
      /so not for their size: rkvdns cannot read Redis \(its log; dig TXT stats\.rkvdns\.test\), or the resolver cannot reach rkvdns/,
    ],
    [
      'refused large through a resolver',
      { viaResolver: true },
      /a resolver's limit on records per RRset \(BIND 9\.18\.28 and later: max-records-per-type \(default 100\)/,
    ],
    ['refused large directly', {}, /^(?![\s\S]*max-records-per-type)[\s\S]*an answer over rkvdns's MAX_TCP_PAYLOAD/],
    [
      'small pages refused too',
      { notSize: 'pages of about 2 keys were refused too', viaResolver: true },
      /pages of about 2 keys were refused too, so not for their size: rkvdns cannot read Redis/,
    ],
    [
      'small pages refused, directly: no resolver named',
      { notSize: 'the count of the keys failed too' },
      /^(?![\s\S]*resolver cannot reach)[\s\S]*the count of the keys failed too, so not for their size/,
    ],
    ['failures scattered over the walk', { scattered: { failed: 17, answered: 40 } }, /17 pages failed while 40 were answered, so not for their size/],
    ['FORMERR: a server without paging', { reason: 'FORMERR' }, /does not page listings \(PARTITIONED_LISTINGS False, or the original RKVDNS\)/],
    [
      'the count timed out after the listing was answered',
      { countTimedOut: { tries: 6, timeoutMs: 2000 } },
      /^(?![\s\S]*not for their size)[\s\S]*the count got no answer in 6 tries of 2000 ms while rkvdns scanned the pattern's keys[^;]*: ask again[^;]*--timeout$/,
    ],
  ];
  for (const [what, f, want] of cases) {
    it(what, () => {
      const msg = listingFailure({ ...base, ...f }).message;
      expect(msg.split('\n')[0]).toBe(`listing web;*.keys.rkvdns.test failed: ${f.reason ?? 'SERVFAIL'}`);
      expect(msg).toMatch(/\n {2}tried: the whole listing: SERVFAIL\n {2}likely causes: /);
      expect(msg).toMatch(want);
    });
  }
});
