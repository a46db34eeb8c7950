/** A private redis-server on a free loopback port, without persistence, with a client for seeding and checks. */
import { Redis } from 'ioredis';
import { freePort } from '../common/ports.js';
import { startProcess, type Started } from './processes.js';

export interface PrivateRedis {
  port: number;
  url: string;
  client: Redis;
  readonly proc: Started;
  stop(): Promise<void>;
  /** Kills the server (an outage) and returns a function that starts it again on the same port. */
  kill(): Promise<() => Promise<void>>;
}

export interface RedisOptions {
  /** More redis-server arguments. */
  extra?: string[];
  /** Working directory (where redis-server would write anything). */
  dir?: string;
}

function spawnRedis(port: number, o: RedisOptions): Promise<Started> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(o.dir ? ['--dir', o.dir] : []), ...(o.extra ?? [])];
  return startProcess('redis-server', args, /Ready to accept connections/);
}

export async function startRedis(o: RedisOptions = {}): Promise<PrivateRedis> {
  const port = await freePort();
  let proc = await spawnRedis(port, o);
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  // Outages are caused on purpose (kill); the client's reconnect errors are expected, not news.
  client.on('error', () => undefined);
  await client.connect();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    client,
    get proc() {
      return proc;
    },
    async stop() {
      client.disconnect();
      await proc.stop();
    },
    async kill() {
      await proc.stop('SIGKILL');
      return async () => {
        proc = await spawnRedis(port, o);
      };
    },
  };
}
