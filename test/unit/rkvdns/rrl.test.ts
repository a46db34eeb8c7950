import { describe, expect, it } from 'vitest';
import { clientOf } from '../../../src/dns/client-address.js';
import { RCODE } from '../../../src/dns/constants.js';
import { networkOf, ResponseRateLimiter, type RrlOptions, type Verdict } from '../../../src/rkvdns/rrl.js';

const OPTS: RrlOptions = {
  responsesPerSecond: 10,
  nxdomainsPerSecond: 5,
  errorsPerSecond: 2,
  slip: 2,
  windowSeconds: 15,
  ipv4Prefix: 24,
  ipv6Prefix: 56,
  exempt: null,
  tableSize: 1000,
};

function clocked(o: Partial<RrlOptions> = {}) {
  let t = 1_000_000;
  const rrl = new ResponseRateLimiter({ ...OPTS, ...o }, () => t);
  return { rrl, advance: (ms: number) => (t += ms) };
}

/** `perSecond` responses a second for `seconds`, evenly spaced; the verdicts of each second. */
function flood(
  rrl: ResponseRateLimiter,
  advance: (ms: number) => void,
  address: string,
  rcode: number,
  perSecond: number,
  seconds: number,
): Record<Verdict, number>[] {
  const out: Record<Verdict, number>[] = [];
  for (let s = 0; s < seconds; s++) {
    const counts = { send: 0, slip: 0, drop: 0 };
    for (let i = 0; i < perSecond; i++) {
      counts[rrl.verdict(clientOf(address, 53), rcode)]++;
      advance(1000 / perSecond);
    }
    out.push(counts);
  }
  return out;
}

describe('ResponseRateLimiter', () => {
  it('sends the rate per second under a flood (after a first second with one second of credit) and slips every 2nd limited response', () => {
    const { rrl, advance } = clocked();
    const seconds = flood(rrl, advance, '192.0.2.1', RCODE.NOERROR, 200, 5);
    expect(seconds[0]!.send).toBeGreaterThanOrEqual(19);
    expect(seconds[0]!.send).toBeLessThanOrEqual(21);
    for (const s of seconds.slice(1)) {
      expect(s.send).toBeGreaterThanOrEqual(9);
      expect(s.send).toBeLessThanOrEqual(11);
      expect(Math.abs(s.slip - s.drop)).toBeLessThanOrEqual(1);
    }
  });

  it('limits per client network: another address of the /24 shares the account, another /24 does not', () => {
    const { rrl } = clocked();
    for (let i = 0; i < 10; i++) expect(rrl.verdict(clientOf('192.0.2.1', 53), RCODE.NOERROR)).toBe('send');
    expect(rrl.verdict(clientOf('192.0.2.200', 53), RCODE.NOERROR)).not.toBe('send');
    expect(rrl.verdict(clientOf('192.0.3.1', 53), RCODE.NOERROR)).toBe('send');
    expect(rrl.verdict(clientOf('::ffff:192.0.2.9', 53), RCODE.NOERROR)).not.toBe('send');
  });

  it('keeps separate accounts, and rates, for answers, NXDOMAIN and errors', () => {
    const { rrl } = clocked();
    const sent = (rcode: number) => Array.from({ length: 20 }, () => rrl.verdict(clientOf('198.51.100.1', 53), rcode)).filter((v) => v === 'send').length;
    expect(sent(RCODE.NOERROR)).toBe(10);
    expect(sent(RCODE.NXDOMAIN)).toBe(5);
    expect(sent(RCODE.SERVFAIL)).toBe(2);
    expect(sent(RCODE.REFUSED)).toBe(0);
  });

  it('never limits exempt clients, or a kind whose rate is 0', () => {
    const { rrl } = clocked({ exempt: '192.0.2.0/24', errorsPerSecond: 0 });
    for (let i = 0; i < 100; i++) expect(rrl.verdict(clientOf('192.0.2.7', 53), RCODE.NOERROR)).toBe('send');
    for (let i = 0; i < 100; i++) expect(rrl.verdict(clientOf('203.0.113.1', 53), RCODE.SERVFAIL)).toBe('send');
  });

  it('with slip 0 every limited response is dropped', () => {
    const { rrl } = clocked({ slip: 0 });
    const verdicts = Array.from({ length: 30 }, () => rrl.verdict(clientOf('192.0.2.1', 53), RCODE.NOERROR));
    expect(verdicts.filter((v) => v === 'slip')).toEqual([]);
    expect(verdicts.filter((v) => v === 'drop').length).toBe(20);
  });

  it('holds at most RRL_TABLE_SIZE accounts, whatever the number of sources', () => {
    const { rrl } = clocked({ tableSize: 5000, ipv4Prefix: 32 });
    for (let i = 0; i < 100_000; i++) rrl.verdict(clientOf(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 53), RCODE.NOERROR);
    expect(rrl.size).toBe(5000);
  });

  it.each([
    ['192.0.2.77', 24, 56, '192.0.2.0/24'],
    ['192.0.2.77', 32, 56, '192.0.2.77/32'],
    ['192.0.2.77', 16, 56, '192.0.0.0/16'],
    ['::ffff:192.0.2.77', 24, 56, '192.0.2.0/24'],
    ['2001:db8:1:2ff::1', 24, 56, '2001:db8:1:200::/56'],
    ['2001:db8:1:2ff::1', 24, 64, '2001:db8:1:2ff::/64'],
    ['::1', 24, 128, '::1/128'],
  ])('%s with /%i and /%i belongs to %s', (address, v4, v6, network) => {
    expect(networkOf(clientOf(address, 53), v4, v6)).toBe(network);
  });
});
