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

export function udpFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    s.once('error', () => resolve(false));
    s.bind(port, host, () => s.close(() => resolve(true)));
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

/**
 * A port free on UDP and TCP, chosen at random below the kernel's ephemeral range. A port the kernel chose (bind to
 * 0) lies inside that range, where any client's outgoing connection (a Redis client, dig, a resolver asking
 * upstream) can take it between this check and the server's own bind: a server started in parallel with other
 * tests then fails with "address in use". Below the range only another explicit bind can.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const high = ephemeralLow();
  for (let i = 0; i < 200; i++) {
    // A kernel whose ephemeral range leaves no room below it: the kernel's choice, checked on TCP too.
    const port = high - LOWEST < 1000 ? await udpPort(host) : LOWEST + Math.floor(Math.random() * (high - LOWEST));
    if ((await udpFree(port, host)) && (await tcpFree(port, host))) return port;
  }
  throw new Error(`no port free on both UDP and TCP found below ${high}`);
}

function udpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
