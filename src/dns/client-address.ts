/**
 * A query's sender as a value: family, address bytes and port, from the socket to every link. An IPv4 client that
 * reached a dual-stack IPv6 socket (`::ffff:a.b.c.d`) is IPv4 here, so address lists, rate limiting and logs see
 * the address an operator knows. Text is made only for logs.
 */
import { addressBytes, ipv6Text } from '../common/ip.js';

export interface ClientAddress {
  readonly family: 4 | 6;
  /** 4 bytes (IPv4) or 16 (IPv6); never a view into a socket's batch. */
  readonly bytes: Buffer;
  readonly port: number;
}

/** A sender as node reports one (`rinfo.address`, `socket.remoteAddress`). */
export function clientOf(address: string, port: number): ClientAddress {
  const a = addressBytes(address) ?? { family: 4, bytes: Buffer.alloc(4) };
  return { family: a.family, bytes: a.bytes, port };
}

export function addressText(c: Pick<ClientAddress, 'family' | 'bytes'>): string {
  const b = c.bytes;
  return c.family === 4 ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : ipv6Text(b);
}

/** `address#port`, as logs show a client. */
export function clientText(c: ClientAddress): string {
  return `${addressText(c)}#${c.port}`;
}
