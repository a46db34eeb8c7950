/** Literal IP addresses between text and bytes, for client addresses, address lists and A/AAAA answers. */
import net from 'node:net';

const V4_MAPPED = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/** The 4 bytes of a dotted IPv4 address (already checked). */
export function ipv4Bytes(text: string): Buffer {
  const b = Buffer.allocUnsafe(4);
  let at = 0;
  for (let i = 0; i < 4; i++) {
    const dot = i < 3 ? text.indexOf('.', at) : text.length;
    b[i] = Number(text.slice(at, dot));
    at = dot + 1;
  }
  return b;
}

/** The 16 bytes of an IPv6 address in any text form, a dotted IPv4 tail included (already checked). */
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

/** The address bytes of a literal address as text (IPv4, IPv6, v4-mapped as IPv4); null for anything else. */
export function addressBytes(text: string): { family: 4 | 6; bytes: Buffer } | null {
  const mapped = V4_MAPPED.exec(text);
  if (mapped) return { family: 4, bytes: ipv4Bytes(mapped[1]!) };
  if (net.isIPv4(text)) return { family: 4, bytes: ipv4Bytes(text) };
  const zoneless = text.replace(/%.*$/, '');
  if (net.isIPv6(zoneless)) return { family: 6, bytes: ipv6Bytes(zoneless) };
  return null;
}

/** The text of a 16-byte IPv6 address as node writes it (RFC 5952: the longest run of zero groups as ::). */
export function ipv6Text(b: Uint8Array, at = 0): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(((b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!).toString(16));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
