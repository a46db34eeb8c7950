import { isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { addressBytes, ipv6Bytes, ipv6Text } from '../../../src/common/ip.js';
import { clientOf, clientText } from '../../../src/dns/client-address.js';

describe('ipv6Text: an address as node writes it (RFC 5952)', () => {
  it.each([
    ['::1', '::1'],
    ['::', '::'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
    ['1::', '1::'],
    ['fe80:0:0:0:0:0:0:abcd', 'fe80::abcd'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ])('%s → %s', (address, want) => {
    const bytes = ipv6Bytes(address);
    const text = ipv6Text(Buffer.concat([Buffer.alloc(3), bytes]), 3);
    expect(text).toBe(want);
    expect(isIPv6(text)).toBe(true);
  });
});

describe('addressBytes and client addresses', () => {
  it.each([
    ['192.0.2.7', 4, [192, 0, 2, 7]],
    ['::ffff:192.0.2.7', 4, [192, 0, 2, 7]],
    ['::FFFF:10.0.0.1', 4, [10, 0, 0, 1]],
    ['::1', 6, [...new Array<number>(15).fill(0), 1]],
    ['fe80::1%eth0', 6, [0xfe, 0x80, ...new Array<number>(13).fill(0), 1]],
  ])('%s is family %i, bytes %j', (text, family, bytes) => {
    expect(addressBytes(text)).toEqual({ family, bytes: Buffer.from(bytes) });
  });

  it.each([['example.com'], ['10.0.0'], ['']])('%j is not an address', (text) => {
    expect(addressBytes(text)).toBeNull();
  });

  it('an IPv4 client of a dual-stack socket is shown as IPv4', () => {
    expect(clientText(clientOf('::ffff:127.0.0.1', 5353))).toBe('127.0.0.1#5353');
    expect(clientText(clientOf('::1', 53))).toBe('::1#53');
  });
});
