/**
 * Client address lists (`10.0.0.0/8, 2001:db8::/32, 192.0.2.7`) as node's BlockList, which matches IPv4
 * clients that reach an IPv6 socket as `::ffff:a.b.c.d` too. Parsed once at load; a bad entry is an error
 * that names it.
 */
import net from 'node:net';

/** The list in one canonical text form (`a/n,b/m`), or an error message naming the first bad entry. */
export function normalizeCidrs(text: string): string | { error: string } {
  const out: string[] = [];
  for (const entry of text.split(/[\s,]+/).filter(Boolean)) {
    const [address = '', prefix] = entry.split('/');
    const family = net.isIP(address);
    const max = family === 6 ? 128 : 32;
    const bits = prefix === undefined ? max : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (family === 0 || !(bits >= 0 && bits <= max)) return { error: `'${entry}' is not an address or address/prefix (IPv4 or IPv6)` };
    out.push(`${address}/${bits}`);
  }
  if (out.length === 0) return { error: 'the list is empty; use None to allow every client' };
  return out.join(',');
}

/** A BlockList holding the canonical list's subnets. */
export function cidrList(canonical: string): net.BlockList {
  const list = new net.BlockList();
  for (const entry of canonical.split(',')) {
    const [address = '', bits] = entry.split('/');
    list.addSubnet(address, Number(bits), net.isIPv6(address) ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** Whether an address (as a socket reports it) is in the list. */
export function inList(list: net.BlockList, address: string): boolean {
  return list.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
}
