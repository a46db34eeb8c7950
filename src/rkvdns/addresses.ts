/**
 * Converts a value to A/AAAA rdata: an address in text form, or an unsigned integer
 * (`3` → 0.0.0.3, `16909060` → 1.2.3.4; up to 128 bits for AAAA). Anything else gives null.
 */
import { isIPv4, isIPv6 } from 'node:net';

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

/** The 4 bytes of a dotted IPv4 address (already checked with isIPv4). */
export function ipv4Bytes(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

/** The 16 bytes of an IPv6 address in any text form, a dotted IPv4 tail included (already checked with isIPv6). */
export function ipv6Bytes(text: string): Buffer {
  let head = text;
  let tailV4: Buffer | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tailV4 = ipv4Bytes(text.slice(lastColon + 1));
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const l = left ? left.split(':') : [];
  const r = right !== undefined && right.length > 0 ? right.split(':') : [];
  const groups = right === undefined ? l : [...l, ...new Array<string>(8 - l.length - r.length).fill('0'), ...r];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  if (tailV4) tailV4.copy(out, 12);
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
