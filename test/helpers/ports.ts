import { ephemeralLowHere, LOWEST, randomPort, tcpFree } from '../../src/common/ports.js';

export { freePort } from '../../src/common/ports.js';

/**
 * A free TCP port for a Redis Cluster node: its bus listens 10000 higher, so that port must be free too. Both below
 * the kernel's ephemeral range, as freePort's are, so no outgoing connection takes either before the node binds.
 */
export async function freeClusterPort(): Promise<number> {
  const high = Math.max(ephemeralLowHere(), LOWEST + 11_000) - 10_000;
  for (let i = 0; i < 200; i++) {
    const port = randomPort(high);
    if ((await tcpFree(port)) && (await tcpFree(port + 10_000))) return port;
  }
  throw new Error(`no free port pair (port, port + 10000) found below ${high + 10_000} for a cluster node`);
}
