/**
 * Converts a value to A/AAAA rdata: an address in text form, or an unsigned integer
 * (`3` → 0.0.0.3, `16909060` → 1.2.3.4; up to 128 bits for AAAA). Anything else gives null.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ipv4Bytes, ipv6Bytes } from '../common/ip.js';

const DECIMAL = /^\d{1,39}$/;

function fromInteger(text: string, bytes: 4 | 16): Buffer | null {
  if (!DECIMAL.test(text)) return null;
  let n = BigInt(text);
  if (n >= 1n << BigInt(bytes * 8)) return null;
  const out = Buffer.alloc(bytes);
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

export function toA(value: Buffer): Buffer | null {
  const text = value.toString('latin1');
  return isIPv4(text) ? ipv4Bytes(text) : fromInteger(text, 4);
}

export function toAAAA(value: Buffer): Buffer | null {
  const text = value.toString('latin1');
  return isIPv6(text) ? ipv6Bytes(text) : fromInteger(text, 16);
}
