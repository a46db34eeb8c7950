/**
 * Child processes for the demo, the tests and the benchmarks: started and awaited until their output says they
 * are ready, killed when they do not get there in time, stopped by PID (SIGTERM, then SIGKILL after 5 s), and
 * killed when this process exits so nothing started outlives it. Output is kept for errors and checks, capped.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Started {
  child: ChildProcess;
  pid: number;
  /** What the process wrote to stdout and stderr so far (the last OUTPUT_CAP characters). */
  output(): string;
  /** Stops the process and resolves with its exit code (null when a signal ended it). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Characters of output kept per process: start-up lines and a final report, without growing for ever. */
const OUTPUT_CAP = 1_000_000;
const STOP_GRACE_MS = 5000;

const running = new Set<ChildProcess>();
const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
process.on('exit', () => {
  for (const c of running) if (alive(c)) c.kill('SIGKILL');
});

/** Kills `child` too when this process exits (for children spawned elsewhere, such as a load generator). */
export function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise((resolve) => {
    if (!alive(child)) return resolve(child.exitCode);
    const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', (code) => {
      clearTimeout(kill);
      resolve(code);
    });
    child.kill(signal);
  });
}

/** Stops everything started here and still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => stopChild(c, 'SIGTERM')));
}

export interface StartOptions {
  timeoutMs?: number;
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Spawns a command and resolves once `ready` matches its combined output (with its match, for a port it
 * printed); with `ready` null, at once, for a server whose readiness the caller checks by asking it.
 */
export function startProcess(cmd: string, args: string[], ready: RegExp | null, o: StartOptions = {}): Promise<Started & { match: RegExpMatchArray }> {
  const timeoutMs = o.timeoutMs ?? 15_000;
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } }));
  let out = '';
  const started: Started = { child, pid: child.pid!, output: () => out, stop: (signal = 'SIGTERM') => stopChild(child, signal) };
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
    };
    const timer = setTimeout(
      () =>
        settle(() => {
          child.kill('SIGKILL');
          reject(new Error(`${cmd} did not become ready in ${timeoutMs} ms; output:\n${out}`));
        }),
      timeoutMs,
    );
    if (ready === null) settle(() => resolve({ ...started, match: [''] as unknown as RegExpMatchArray }));
    const onData = (d: Buffer) => {
      out = (out + d.toString()).slice(-OUTPUT_CAP);
      const m = settled || ready === null ? null : out.match(ready);
      if (m) settle(() => resolve({ ...started, match: m }));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    // A command that is not installed: say which, instead of an unhandled 'error' event.
    child.once('error', (e) => settle(() => reject(new Error(`${cmd}: ${e.message}`))));
    child.once('exit', (code) => settle(() => reject(new Error(`${cmd} exited with ${code} before becoming ready; output:\n${out}`))));
  });
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`) and returns its output and exit code. */
export function run(cmd: string, args: string[], input?: string | Buffer, timeoutMs = 20_000): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    track(child);
    let stdout = '';
    let stderr = '';
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (stdout = (stdout + d).slice(-OUTPUT_CAP)));
    child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-OUTPUT_CAP)));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    // A command that exits before reading its input (a start-up error) must not fail with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** Whether a command is on the PATH. */
export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** CPU seconds (user + system) and memory of a running process, from /proc. */
export function usage(pid: number): { cpuS: number; rssKb: number; hwmKb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuS: (Number(f[11]) + Number(f[12])) / 100, rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}
