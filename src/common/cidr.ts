/**
 * Client address lists (`10.0.0.0/8, 2001:db8::/32, 192.0.2.7`), matched on address bytes. Parsed once at load;
 * a bad entry is an error that names it. An IPv4 client of a dual-stack socket is IPv4 by the time it is matched
 * (client-address.ts), so `10.0.0.0/8` covers it.
 */
import { addressBytes } from './ip.js';

/** The list in one canonical text form (`a/n,b/m`), or an error message naming the first bad entry. */
export function normalizeCidrs(text: string): string | { error: string } {
  const out: string[] = [];
  for (const entry of text.split(/[\s,]+/).filter(Boolean)) {
    const [address = '', prefix] = entry.split('/');
    const parsed = address.includes('%') ? null : addressBytes(address);
    const max = parsed?.family === 6 ? 128 : 32;
    const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (parsed === null || !(bits >= 0 && bits <= max)) return { error: `'${entry}' is not an address or address/prefix (IPv4 or IPv6)` };
    out.push(`${address}/${bits}`);
  }
  if (out.length === 0) return { error: 'the list is empty; use None to allow every client' };
  return out.join(',');
}

interface Subnet {
  family: 4 | 6;
  bytes: Buffer;
  bits: number;
}

/** The subnets of a canonical list, to match addresses against. */
export class AddressList {
  private readonly subnets: Subnet[];

  constructor(canonical: string) {
    this.subnets = canonical.split(',').map((entry) => {
      const [address = '', bits] = entry.split('/');
      const a = addressBytes(address)!;
      return { family: a.family, bytes: a.bytes, bits: Number(bits) };
    });
  }

  has(a: { family: 4 | 6; bytes: Uint8Array }): boolean {
    for (const s of this.subnets) if (s.family === a.family && samePrefix(s.bytes, a.bytes, s.bits)) return true;
    return false;
  }
}

/** Whether the first `bits` bits of `a` and `b` are the same. */
function samePrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  let i = 0;
  for (; bits >= 8; i++, bits -= 8) if (a[i] !== b[i]) return false;
  return bits === 0 || ((a[i]! ^ b[i]!) & (0xff << (8 - bits)) & 0xff) === 0;
}
