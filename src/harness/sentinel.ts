/**
 * A private Redis master, one replica and three sentinels (redis-server --sentinel) on free loopback ports, as
 * operators run Redis for failover: for the tests and benchmarks of failover. The sentinels notice a master gone
 * after a second and promote the replica; each has its own configuration file, which Sentinel rewrites.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../common/ports.js';
import { startProcess, type Started } from './processes.js';
import { startRedis, type PrivateRedis } from './redis.js';

export interface SentinelSet {
  master: PrivateRedis;
  replica: PrivateRedis;
  sentinels: { port: number; proc: Started }[];
  /** The master's name in the sentinels' configuration. */
  name: string;
  /** `redis+sentinel://127.0.0.1:A,127.0.0.1:B,127.0.0.1:C/<name>`. */
  url: string;
  stop(): Promise<void>;
}

export async function startSentinels(dir: string, o: { downAfterMs?: number; name?: string } = {}): Promise<SentinelSet> {
  const name = o.name ?? 'totals';
  const master = await startRedis({ dir });
  const replica = await startRedis({ dir, extra: ['--replicaof', '127.0.0.1', String(master.port)] });
  const sentinels: SentinelSet['sentinels'] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const file = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
        `sentinel down-after-milliseconds ${name} ${o.downAfterMs ?? 1000}`,
        `sentinel failover-timeout ${name} 10000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    sentinels.push({ port, proc: await startProcess('redis-server', [file, '--sentinel'], /Sentinel ID is|monitor master/) });
  }
  return {
    master,
    replica,
    sentinels,
    name,
    url: `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${name}`,
    async stop() {
      for (const s of sentinels) await s.proc.stop();
      await replica.stop().catch(() => undefined);
      await master.stop().catch(() => undefined);
    },
  };
}
