/** DNS numbers used across the server (RFC 1035, 3596, 6891). */
export const QTYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, OPT: 41, AXFR: 252, IXFR: 251, ANY: 255 } as const;
export const CLASS_IN = 1;

/** Mnemonics of the types a query may name, for messages; others are written TYPE<n> (RFC 3597). */
const TYPE_MNEMONIC: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  12: 'PTR',
  13: 'HINFO',
  15: 'MX',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  35: 'NAPTR',
  41: 'OPT',
  43: 'DS',
  46: 'RRSIG',
  47: 'NSEC',
  48: 'DNSKEY',
  50: 'NSEC3',
  52: 'TLSA',
  64: 'SVCB',
  65: 'HTTPS',
  99: 'SPF',
  251: 'IXFR',
  252: 'AXFR',
  255: 'ANY',
  257: 'CAA',
};

export function typeName(qtype: number): string {
  return TYPE_MNEMONIC[qtype] ?? `TYPE${qtype}`;
}
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = (typeof RCODE)[keyof typeof RCODE];
/** Extended rcode BADVERS (16) carried in the OPT record's TTL field: upper 8 bits = 1. */
export const EXTENDED_BADVERS_HIGH = 1;

export const HEADER_LEN = 12;
export const MAX_LABEL = 63;
export const MAX_NAME = 255;
export const MIN_UDP = 512;

export const RCODE_NAME: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
};
