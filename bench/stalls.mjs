/**
 * How often this machine stops a running thread, and for how long: one thread per CPU, pinned, reads the clock in a
 * loop; a gap between two reads is time the thread did not run. Linux's own account of that thread
 * (/proc/thread-self/schedstat: time on a CPU) tells the gaps it caused (another task ran) from those it did not see
 * (a virtualised CPU taken away by its host, long interrupts). No load runs meanwhile: this is the machine's floor,
 * under any server's latency tail measured on it.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

// The spinner: prints its gaps over 0.1 ms (count over 1 and 2 ms, longest, total) and Linux's off-CPU time for it.
const SPINNER = `
import { readFileSync } from 'node:fs';
const ms = Number(process.argv[1]);
const onCpu = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
const cpu0 = onCpu();
const start = performance.now();
let prev = start, over1 = 0, over2 = 0, longest = 0, total = 0;
for (;;) {
  const t = performance.now();
  const gap = t - prev;
  prev = t;
  if (gap > 0.1) {
    total += gap;
    if (gap > 1) over1++;
    if (gap > 2) over2++;
    if (gap > longest) longest = gap;
  }
  if (t - start > ms) break;
}
process.stdout.write(JSON.stringify({ wallMs: prev - start, over1, over2, longest, total, onCpuMs: onCpu() - cpu0 }));
`;

function spin(cpu, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', String(cpu), process.execPath, '--input-type=module', '-e', SPINNER, String(seconds * 1000)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`stall spinner on CPU ${cpu} exited ${code}`))));
  });
}

/**
 * Every CPU spun at once for `seconds`. Per CPU: gaps over 1 and 2 ms, the longest (ms), the time stopped in gaps over
 * 0.1 ms and, of that, how much Linux did not see (time stopped beyond its own off-CPU account).
 */
export async function machineStalls(seconds = 5) {
  const cpus = Array.from({ length: availableParallelism() }, (_, i) => i);
  const runs = await Promise.all(cpus.map((cpu) => spin(cpu, seconds)));
  return runs.map((r) => {
    const offCpuMs = Math.max(0, r.wallMs - r.onCpuMs);
    return { over1: r.over1, over2: r.over2, longestMs: r.longest, stoppedMs: r.total, unseenMs: Math.max(0, r.total - offCpuMs) };
  });
}

/** One line for a table's heading: per CPU, "N gaps > 2 ms (longest X ms), Y ms stopped, Z of it unseen by Linux". */
export function stallsText(stalls, seconds) {
  const per = stalls.map(
    (s, cpu) =>
      `CPU ${cpu}: ${s.over2} stops > 2 ms (${s.over1} > 1 ms, longest ${s.longestMs.toFixed(1)} ms), ${s.stoppedMs.toFixed(0)} ms stopped, ${s.unseenMs.toFixed(0)} ms of it unseen by Linux`,
  );
  return `this machine, idle, a thread spinning on each CPU for ${seconds} s: ${per.join('; ')}`;
}
