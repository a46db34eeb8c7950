/**
 * Worker processes for rkvdns (WORKERS) and the agent (workers): a primary forks that many workers that
 * share its sockets (node:cluster: one UDP socket read by all, one TCP listener), so the hot path uses
 * every core. Each worker keeps its own state and counters. The primary restarts a worker that dies and
 * stops them all on SIGTERM/SIGINT.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../common/log.js';

/** What a worker tells the primary once: that it serves (and where), or why it could not start. */
export type WorkerMessage<T> = { ready: T } | { failed: string };

/** In the primary: forks `n` workers; resolves with what the first said once every worker serves, rejects if one fails to start. */
export function forkWorkers<T>(n: number, log: Logger): Promise<{ ready: T; stop(): Promise<void> }> {
  let stopping = false;
  let started = false;
  const workers = new Set<Worker>();
  return new Promise((resolve, reject) => {
    let ready = 0;
    const fork = () => {
      const w = cluster.fork();
      workers.add(w);
      w.on('message', (m: WorkerMessage<T>) => {
        if ('failed' in m) {
          if (!started) {
            stopping = true;
            for (const o of workers) o.kill();
            reject(new Error(m.failed));
          }
        } else if (!started && ++ready === n) {
          started = true;
          resolve({ ready: m.ready, stop });
        }
      });
      w.on('exit', (code, signal) => {
        workers.delete(w);
        if (stopping || !started) return;
        log.error(`worker ${w.process.pid} exited (${signal ?? code}); starting another in 1 s`);
        setTimeout(() => {
          if (!stopping) fork();
        }, 1000).unref();
      });
    };
    const stop = () =>
      new Promise<void>((res) => {
        stopping = true;
        if (workers.size === 0) return res();
        for (const w of workers) {
          w.once('exit', () => {
            if (workers.size === 0) res();
          });
          w.kill('SIGTERM');
        }
      });
    for (let i = 0; i < n; i++) fork();
  });
}

export const isWorker = (): boolean => cluster.isWorker;
export const workerId = (): number | undefined => cluster.worker?.id;

export function tellPrimary<T>(m: WorkerMessage<T>): void {
  process.send?.(m);
}
