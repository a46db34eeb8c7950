/** What the stub resolver client's exchanges fail with, and where they go. */

export interface Nameserver {
  host: string;
  port: number;
}

export class DnsTimeout extends Error {}

/** Nothing listens at the address (an ICMP port unreachable): asking again there cannot help. */
export class DnsRefused extends Error {}
