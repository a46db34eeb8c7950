import { isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ipv6Text } from '../../../src/dns/udp.js';
import { ipv6Bytes } from '../../../src/rkvdns/addresses.js';

describe('ipv6Text: a client address from the batched path, as node:dgram would write it', () => {
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
