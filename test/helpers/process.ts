/** Child processes started by tests, stopped by PID afterwards: the one harness the demo and benchmarks use too. */
import { usage } from '../../src/harness/processes.js';

export { run, startProcess, type Started } from '../../src/harness/processes.js';

/** Resident memory of a process in kB, from /proc. */
export const rssKb = (pid: number): number => usage(pid).rssKb;
