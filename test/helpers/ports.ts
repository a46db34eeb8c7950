import { tcpFree } from '../../src/common/ports.js';

export { freePort } from '../../src/common/ports.js';

/**
 * A free TCP port for a Redis Cluster node: its bus listens 10000 higher, so that port must be free too and
 * the node port at most 55535.
 */
export async function freeClusterPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if ((await tcpFree(port)) && (await tcpFree(port + 10_000))) return port;
  }
  throw new Error('no free port pair (port, port + 10000) found for a cluster node');
}
