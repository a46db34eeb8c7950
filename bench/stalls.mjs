/**
 * How often this machine stops a running thread, and for how long: one thread per CPU, pinned, reads the clock in a
 * loop; a gap between two reads is time the thread did not run. Each turn also reads how many times Linux has put
 * the thread on a CPU (/proc/thread-self/schedstat). A gap across which that count did not move is one Linux did not
 * see: the thread was, for Linux, running all along, and its virtual CPU was taken away by the host (or a long
 * interrupt ran). A gap where it moved is one where Linux ran something else. No load runs meanwhile: this is the
 * machine's floor, under any server's latency tail measured on it.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

// The spinner. It reads schedstat into one Buffer and parses it in place, so that its loop makes no garbage (a
// collection would be a gap of its own), and spins 0.5 s first, so that its compilation is done before it counts.
const SPINNER = `
import { openSync, readSync } from 'node:fs';
const ms = Number(process.argv[1]);
const fd = openSync('/proc/thread-self/schedstat', 'r');
const buf = Buffer.alloc(128);
function timesRun() {
  const n = readSync(fd, buf, 0, buf.length, 0);
  let field = 0, v = 0;
  for (let i = 0; i < n; i++) {
    const c = buf[i];
    if (c === 32) field++;
    else if (field === 2 && c >= 48 && c <= 57) v = v * 10 + (c - 48);
  }
  return v;
}
for (const w = performance.now(); performance.now() - w < 500; ) timesRun();
const r = { unseen1: 0, unseen2: 0, unseenLongest: 0, unseenMs: 0, seen1: 0, seen2: 0 };
const start = performance.now();
let prev = start, prevRuns = timesRun();
for (;;) {
  const runs = timesRun();
  const t = performance.now();
  const gap = t - prev;
  if (gap > 1) {
    if (runs === prevRuns) {
      r.unseen1++;
      if (gap > 2) r.unseen2++;
      r.unseenMs += gap;
      r.unseenLongest = Math.max(r.unseenLongest, gap);
    } else {
      r.seen1++;
      if (gap > 2) r.seen2++;
    }
  }
  prev = t;
  prevRuns = runs;
  if (t - start > ms) break;
}
process.stdout.write(JSON.stringify(r));
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
 * Every CPU spun at once for `seconds`. Per CPU (`cpus`), the stops over 1 ms Linux did not see: how many (over 1 and
 * 2 ms), the longest and their total (ms); and how many over 1 and 2 ms it did see.
 */
export async function machineStalls(seconds = 5) {
  const cpus = Array.from({ length: availableParallelism() }, (_, i) => i);
  return { seconds, cpus: await Promise.all(cpus.map((cpu) => spin(cpu, seconds))) };
}

/** One line under a table: per CPU, the stops Linux did not see, and those it did. */
export function stallsText({ seconds, cpus }) {
  const per = cpus.map(
    (s, cpu) =>
      `CPU ${cpu}: ${s.unseen2} stops > 2 ms (${s.unseen1} > 1 ms, longest ${s.unseenLongest.toFixed(1)} ms, ${s.unseenMs.toFixed(0)} ms in all) unseen by Linux, ${s.seen2} (${s.seen1}) where it ran something else`,
  );
  return `this machine before the load, a thread spinning on each CPU for ${seconds} s: ${per.join('; ')}`;
}
