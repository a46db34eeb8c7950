/**
 * WORKERS > 1: a primary process forks that many rkvdns workers sharing one UDP socket and one TCP listener
 * (node:cluster), so the request path uses every core. Each worker keeps its own flights, debouncing,
 * MAX_PENDING and counters. The primary restarts a worker that dies and stops them all on SIGTERM/SIGINT.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../common/log.js';

export type WorkerMessage = { ready: { host: string; port: number } } | { failed: string };

/** In the primary: forks `n` workers; resolves with the address once every worker serves, rejects if one fails to start. */
export function forkWorkers(n: number, log: Logger): Promise<{ host: string; port: number; stop(): Promise<void> }> {
  let stopping = false;
  let started = false;
  const workers = new Set<Worker>();
  return new Promise((resolve, reject) => {
    let ready = 0;
    const fork = () => {
      const w = cluster.fork();
      workers.add(w);
      w.on('message', (m: WorkerMessage) => {
        if ('failed' in m) {
          if (!started) {
            stopping = true;
            for (const o of workers) o.kill();
            reject(new Error(m.failed));
          }
        } else if (!started && ++ready === n) {
          started = true;
          resolve({ ...m.ready, stop });
        }
      });
      w.on('exit', (code, signal) => {
        workers.delete(w);
        if (stopping || !started) return;
        log.error(`worker ${w.process.pid} exited (${signal ?? code}); starting another in 1 s`);
        setTimeout(() => { if (!stopping) fork(); }, 1000).unref();
      });
    };
    const stop = () =>
      new Promise<void>((res) => {
        stopping = true;
        if (workers.size === 0) return res();
        for (const w of workers) {
          w.once('exit', () => { if (workers.size === 0) res(); });
          w.kill('SIGTERM');
        }
      });
    for (let i = 0; i < n; i++) fork();
  });
}

export const isWorker = (): boolean => cluster.isWorker;
export const workerId = (): number | undefined => cluster.worker?.id;

export function tellPrimary(m: WorkerMessage): void {
  process.send?.(m);
}
