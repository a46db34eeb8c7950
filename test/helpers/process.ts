/** Child processes started by tests, stopped by PID afterwards. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Started {
  child: ChildProcess;
  pid: number;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Spawns a command and resolves once `ready` matches its combined output; with `ready` null, at once (for a
 * server whose readiness the caller checks by asking it).
 */
export function startProcess(cmd: string, args: string[], ready: RegExp | null, timeoutMs = 10_000, env?: NodeJS.ProcessEnv): Promise<Started & { match: RegExpMatchArray }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  let out = '';
  const started: Started = {
    child,
    pid: child.pid!,
    output: () => out,
    stop(signal = 'SIGTERM') {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', (code) => {
          clearTimeout(t);
          resolve(code);
        });
        process.kill(child.pid!, signal);
      });
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} did not become ready in ${timeoutMs} ms; output:\n${out}`));
    }, timeoutMs);
    let isReady = false;
    if (ready === null) {
      isReady = true;
      clearTimeout(timer);
      resolve({ ...started, match: [''] as unknown as RegExpMatchArray });
    }
    const onData = (d: Buffer) => {
      out += d.toString();
      if (isReady || ready === null) return;
      const m = out.match(ready);
      if (m) {
        isReady = true;
        clearTimeout(timer);
        resolve({ ...started, match: m });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    // A command that is not installed: say which, instead of an unhandled 'error' event.
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!isReady) reject(new Error(`${cmd} exited with ${code} before becoming ready; output:\n${out}`));
    });
  });
}

/** Runs a command to completion and returns its output and exit code. */
export function run(cmd: string, args: string[], input?: string | Buffer, timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    // A command that exits before reading its input (a start-up error) must not fail the test with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** Resident memory of a process in kB, from /proc. */
export function rssKb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}
