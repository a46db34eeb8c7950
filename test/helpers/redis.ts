/** A private redis-server on a free loopback port, with no persistence. */
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { startProcess, type Started } from './process.js';

export interface TestRedis {
  port: number;
  url: string;
  client: Redis;
  proc: Started;
  stop(): Promise<void>;
  /** Kills the server (simulating an outage) and returns a function that starts it again on the same port. */
  kill(): Promise<() => Promise<void>>;
}

async function spawnRedis(port: number, extra: string[]): Promise<Started> {
  return startProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra], /Ready to accept connections/);
}

export async function startRedis(extra: string[] = []): Promise<TestRedis> {
  const port = await freePort();
  let proc = await spawnRedis(port, extra);
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  // The tests kill and restart Redis on purpose; reconnect errors are expected, not news.
  client.on('error', () => undefined);
  await client.connect();
  const r: TestRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    client,
    get proc() { return proc; },
    async stop() {
      client.disconnect();
      await proc.stop();
    },
    async kill() {
      await proc.stop('SIGKILL');
      return async () => {
        proc = await spawnRedis(port, extra);
      };
    },
  };
  return r;
}
