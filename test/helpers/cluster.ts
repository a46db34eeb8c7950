/**
 * A private three-master Redis Cluster on free loopback ports (redis-server --cluster-enabled yes, joined
 * with redis-cli --cluster create), with append-only files so a restarted master comes back with its data.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './agent.js';
import { freeClusterPort } from './ports.js';
import { run, startProcess, type Started } from './process.js';

export interface TestCluster {
  ports: number[];
  /** redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3 */
  url: string;
  /** Stops master i (SIGTERM: it writes its append-only file) and returns a function that starts it again. */
  stopMaster(i: number): Promise<() => Promise<void>>;
  /** Sum of the integer values of all keys matching the glob, across every master. */
  sum(glob: string): Promise<number>;
  /** How many keys matching the glob each master holds. */
  counts(glob: string): Promise<number[]>;
  stop(): Promise<void>;
}

/** Each node has its own directory: append-only files and node tables must not be shared. */
function spawnNode(port: number, base: string): Promise<Started> {
  const dir = join(base, String(port));
  mkdirSync(dir, { recursive: true });
  return startProcess(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-node-timeout',
      '2000',
    ],
    /Ready to accept connections/,
  );
}

async function clusterOk(port: number): Promise<boolean> {
  const r = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
  return /cluster_state:ok/.test(r.stdout);
}

/** Waits until every node reports cluster_state:ok. */
async function waitClusterOk(ports: number[], what: string): Promise<void> {
  if (!(await waitFor(async () => (await Promise.all(ports.map(clusterOk))).every(Boolean), 20_000, 200))) throw new Error(what);
}

/** Runs `fn` with a plain client on each node, in parallel. */
function onEachNode<T>(ports: number[], fn: (c: Redis) => Promise<T>): Promise<T[]> {
  return Promise.all(
    ports.map(async (port) => {
      const c = new Redis({ port, host: '127.0.0.1' });
      try {
        return await fn(c);
      } finally {
        c.disconnect();
      }
    }),
  );
}

export async function startCluster(): Promise<TestCluster> {
  const ports = [await freeClusterPort(), await freeClusterPort(), await freeClusterPort()];
  const dir = mkdtempSync(join(tmpdir(), 'cluster-'));
  const procs = await Promise.all(ports.map((p) => spawnNode(p, dir)));
  const created = await run(
    'redis-cli',
    ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
    undefined,
    30_000,
  );
  if (created.code !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  await waitClusterOk(ports, 'cluster did not reach state ok');
  return {
    ports,
    url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
    async stopMaster(i) {
      await procs[i]!.stop();
      return async () => {
        procs[i] = await spawnNode(ports[i]!, dir);
        await waitClusterOk(ports, 'cluster did not recover');
      };
    },
    async sum(glob) {
      const perNode = await onEachNode(ports, async (c) => {
        const keys = await c.keys(glob);
        // One GET per key: a multi-key command across slots is refused even on one node.
        const replies = keys.length ? await c.pipeline(keys.map((k) => ['get', k])).exec() : [];
        return (replies ?? []).reduce((n, [, v]) => n + Number(v), 0);
      });
      return perNode.reduce((a, b) => a + b, 0);
    },
    counts: (glob) => onEachNode(ports, async (c) => (await c.keys(glob)).length),
    async stop() {
      await Promise.all(procs.map((p) => p.stop()));
    },
  };
}
