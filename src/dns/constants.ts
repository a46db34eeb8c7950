/** DNS numbers used across the server (RFC 1035, 3596, 6891). */
export const QTYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, OPT: 41, AXFR: 252, IXFR: 251, ANY: 255 } as const;
export const CLASS_IN = 1;
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
