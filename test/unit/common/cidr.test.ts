import { describe, expect, it } from 'vitest';
import { AddressList, normalizeCidrs } from '../../../src/common/cidr.js';
import { clientOf } from '../../../src/dns/client-address.js';

describe('client address lists', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['192.0.2.7', '192.0.2.7/32'],
    ['2001:db8::/32, ::1', '2001:db8::/32,::1/128'],
    [' 10.0.0.0/8 ,,192.0.2.0/24 ', '10.0.0.0/8,192.0.2.0/24'],
  ])('%s is read as %s', (text, canonical) => {
    expect(normalizeCidrs(text)).toBe(canonical);
  });

  it.each([
    ['10.0.0.0/33', '10.0.0.0/33'],
    ['2001:db8::/129', '2001:db8::/129'],
    ['10.0.0.0/8, example.com', 'example.com'],
    ['10.0.0.0/x', '10.0.0.0/x'],
  ])('%s is refused, naming the entry %s', (text, entry) => {
    expect(normalizeCidrs(text)).toEqual({ error: `'${entry}' is not an address or address/prefix (IPv4 or IPv6)` });
  });

  it('an empty list is refused, saying how to allow every client', () => {
    expect(normalizeCidrs(' , ')).toEqual({ error: 'the list is empty; use None to allow every client' });
  });

  const list = new AddressList('10.0.0.0/8,192.0.2.7/32,2001:db8::/32,198.51.100.128/25');
  it.each([
    ['10.1.2.3', true],
    ['11.0.0.1', false],
    ['192.0.2.7', true],
    ['192.0.2.8', false],
    ['198.51.100.128', true],
    ['198.51.100.127', false],
    ['2001:db8::1', true],
    ['2001:db9::1', false],
    // An IPv4 client on a dual-stack IPv6 socket is the IPv4 client.
    ['::ffff:10.9.9.9', true],
    ['::ffff:11.9.9.9', false],
    // IPv4 subnets never match IPv6 clients whose bytes happen to start alike.
    ['a01:203::', false],
  ])('%s in the list: %s', (address, expected) => {
    expect(list.has(clientOf(address, 53))).toBe(expected);
  });
});
