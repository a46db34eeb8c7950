/** Free loopback ports, checked on both UDP and TCP (a DNS server needs both). Used by tests and the demo. */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';

export function tcpFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** The port a UDP socket got bound to on `host` (0: the kernel chooses), or null when it could not be. */
function boundUdp(port: number, host: string): Promise<number | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    s.once('error', () => resolve(null));
    s.bind(port, host, () => {
      const bound = s.address().port;
      s.close(() => resolve(bound));
    });
  });
}

/** The lowest port the kernel hands out to sockets that connect or send without binding (Linux's default 32768). */
export function ephemeralLow(rangeFile = '/proc/sys/net/ipv4/ip_local_port_range'): number {
  try {
    const low = Number(readFileSync(rangeFile, 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Ports below this are left to system services. */
export const LOWEST = 10_000;

let rangeLow: number | undefined;

/** ephemeralLow() of this machine, read once per process. */
export const ephemeralLowHere = (): number => (rangeLow ??= ephemeralLow());

/** A port picked at random from LOWEST up to (not including) `below`, or up to the ephemeral range's low end. */
export function randomPort(below = ephemeralLowHere()): number {
  return LOWEST + Math.floor(Math.random() * (below - LOWEST));
}

/**
 * A port free on UDP and TCP, chosen at random below the kernel's ephemeral range. A port the kernel chose (bind to
 * 0) lies inside that range, where any client's outgoing connection (a Redis client, dig, a resolver asking
 * upstream) can take it between this check and the server's own bind: a server started in parallel with other
 * tests then fails with "address in use". Below the range only another explicit bind can.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const high = ephemeralLowHere();
  // A kernel whose ephemeral range leaves no room below it: the kernel's choice, checked on TCP too.
  const roomBelow = high - LOWEST >= 1000;
  for (let i = 0; i < 200; i++) {
    const port = await boundUdp(roomBelow ? randomPort(high) : 0, host);
    if (port !== null && (await tcpFree(port, host))) return port;
  }
  throw new Error(`no port free on both UDP and TCP found below ${high}`);
}
