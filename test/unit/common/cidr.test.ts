import { describe, expect, it } from 'vitest';
import { cidrList, inList, normalizeCidrs } from '../../../src/common/cidr.js';

describe('client address lists', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['192.0.2.7', '192.0.2.7/32'],
    ['2001:db8::/32, ::1', '2001:db8::/32,::1/128'],
    [' 10.0.0.0/8 ,,192.0.2.0/24 ', '10.0.0.0/8,192.0.2.0/24'],
  ])('%s is read as %s', (text, canonical) => {
    expect(normalizeCidrs(text)).toBe(canonical);
  });

  it.each([['10.0.0.0/33'], ['2001:db8::/129'], ['example.com'], ['10.0.0.0/x'], ['']])('%s is refused, naming the entry', (text) => {
    const r = normalizeCidrs(text);
    expect(typeof r).toBe('object');
  });

  const list = cidrList('10.0.0.0/8,192.0.2.7/32,2001:db8::/32');
  it.each([
    ['10.1.2.3', true],
    ['11.0.0.1', false],
    ['192.0.2.7', true],
    ['192.0.2.8', false],
    ['2001:db8::1', true],
    ['2001:db9::1', false],
    // An IPv4 client on an IPv6 socket.
    ['::ffff:10.9.9.9', true],
    ['::ffff:11.9.9.9', false],
  ])('%s in the list: %s', (address, expected) => {
    expect(inList(list, address)).toBe(expected);
  });
});
