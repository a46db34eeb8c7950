/**
 * Worker processes for rkvdns (WORKERS) and the agent (workers): a primary forks that many workers that
 * share its sockets (node:cluster: one UDP socket read by all, one TCP listener), so the hot path uses
 * every core. Each worker keeps its own state and counters; the primary can ask every worker a question
 * (their metrics and readiness) and gather the answers. The primary restarts a worker that dies and stops them
 * all on SIGTERM/SIGINT.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../common/log.js';

/** What a worker tells the primary: once, that it serves (and where) or why it could not start; then answers. */
export type WorkerMessage<T> = { ready: T } | { failed: string } | { answer: number; value: unknown };

export interface WorkerPool<T> {
  /** What the first worker said when it was ready. */
  ready: T;
  /** Workers the pool keeps running. */
  size: number;
  /** Asks every worker (see answerPrimary); the answers that came within the time, and how many were asked. */
  ask<A>(timeoutMs: number): Promise<{ answers: A[]; asked: number }>;
  stop(): Promise<void>;
}

/** What asking needs of a worker (node:cluster's Worker has it). */
export interface Askable {
  isConnected(): boolean;
  send(message: { ask: number }, callback: (error: Error | null) => void): boolean;
}

/**
 * Asks each connected worker question `id`; its answers arrive through `questions` (the primary's message handler).
 * Resolves with the answers that came within `timeoutMs`, and how many workers could be asked. A worker that died an
 * instant ago may still look connected: writing to it fails (EPIPE), and it counts as not asked. The send is given a
 * callback for that: without one, Node reports the failure as an 'error' event on the worker, which would end the
 * primary (every worker with it) over a scrape that came at the wrong moment.
 */
export function askWorkers<A>(
  workers: Iterable<Askable>,
  questions: Map<number, (value: unknown) => void>,
  id: number,
  timeoutMs: number,
): Promise<{ answers: A[]; asked: number }> {
  return new Promise((resolve) => {
    const answers: A[] = [];
    let asked = 0;
    let sending = true;
    const done = () => {
      clearTimeout(timer);
      questions.delete(id);
      resolve({ answers, asked });
    };
    const complete = () => !sending && answers.length >= asked;
    const timer = setTimeout(done, timeoutMs);
    questions.set(id, (value) => {
      answers.push(value as A);
      if (complete()) done();
    });
    for (const w of workers) {
      if (!w.isConnected()) continue;
      asked++;
      w.send({ ask: id }, (error) => {
        if (!error) return;
        asked--;
        if (complete()) done();
      });
    }
    sending = false;
    if (complete()) done();
  });
}

/** In the primary: forks `n` workers; resolves once every worker serves, rejects if one fails to start. */
export function forkWorkers<T>(n: number, log: Logger): Promise<WorkerPool<T>> {
  let stopping = false;
  let started = false;
  const workers = new Set<Worker>();
  let nextQuestion = 0;
  const questions = new Map<number, (value: unknown) => void>();
  const ask = <A>(timeoutMs: number) => askWorkers<A>(workers, questions, nextQuestion++, timeoutMs);
  return new Promise((resolve, reject) => {
    let ready = 0;
    const fork = () => {
      const w = cluster.fork();
      workers.add(w);
      // Any other failure to reach a worker is logged: it must not end the primary (its exit is handled below).
      w.on('error', (e: Error) => log.warn(`worker ${w.process.pid}: ${e.message}`));
      w.on('message', (m: WorkerMessage<T>) => {
        if ('answer' in m) questions.get(m.answer)?.(m.value);
        else if ('failed' in m) {
          if (!started) {
            stopping = true;
            for (const o of workers) o.kill();
            reject(new Error(m.failed));
          }
        } else if (!started && ++ready === n) {
          started = true;
          resolve({ ready: m.ready, size: n, ask, stop });
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

/** In a worker: answers the primary's questions with what `answer` gives. */
export function answerPrimary(answer: () => Promise<unknown>): void {
  process.on('message', (m: { ask?: number }) => {
    if (typeof m?.ask !== 'number') return;
    const id = m.ask;
    void answer().then(
      (value) => process.send?.({ answer: id, value }),
      (e: Error) => process.send?.({ answer: id, value: { error: e.message } }),
    );
  });
}
