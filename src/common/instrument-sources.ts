/**
 * What answers /metrics and /readyz: a program's own families and readiness checks in one process, or, in the
 * primary under --workers, every worker's answers gathered over IPC, metrics added up and reasons joined.
 */
import type { InstrumentSource } from './instruments.js';
import { aggregateText, registryOf, type Family, type FamilyValues } from './metrics.js';
import type { WorkerPool } from './workers.js';

/** What a worker sends the primary when asked. */
interface WorkerInstruments {
  families: FamilyValues;
  unready: string[];
}

export interface LocalInstruments extends InstrumentSource {
  /** This process's answer to the primary (under --workers). */
  share(): Promise<WorkerInstruments>;
}

export function localInstruments(families: readonly Family[], unready: () => Promise<string[]>, readyDetail?: () => string | null): LocalInstruments {
  const registry = registryOf(families, true);
  return {
    metrics: () => registry.metrics(),
    unready,
    ...(readyDetail ? { readyDetail } : {}),
    share: async () => ({ families: await registry.getMetricsAsJSON(), unready: await unready() }),
  };
}

/** A worker that does not answer in this time counts as not ready, and its metrics are missing from that scrape. */
const WORKER_ANSWER_MS = 2000;

export function pooledInstruments(pool: WorkerPool<unknown>): InstrumentSource {
  const gather = async () => {
    const { answers, asked } = await pool.ask<WorkerInstruments | { error: string }>(WORKER_ANSWER_MS);
    const good = answers.filter((a): a is WorkerInstruments => 'families' in a);
    const problems = answers.flatMap((a) => ('error' in a ? [`a worker failed to answer: ${a.error}`] : a.unready.map((r) => `a worker: ${r}`)));
    if (asked < pool.size) problems.push(`${asked} of ${pool.size} workers running`);
    if (answers.length < asked) problems.push(`${asked - answers.length} worker(s) did not answer within ${WORKER_ANSWER_MS} ms`);
    return { good, problems };
  };
  return {
    metrics: async () => aggregateText((await gather()).good.map((a) => a.families)),
    unready: async () => [...new Set((await gather()).problems)],
  };
}
