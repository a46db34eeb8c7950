import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bin } from '../../src/harness/programs.js';
import { run } from '../helpers/process.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('--version', () => {
  it.each(['rkvdns', 'agent', 'totalize'] as const)('%s prints the package version and exits 0', async (name) => {
    for (const flag of ['--version', '-V']) {
      const r = await run('node', [bin(name), flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(version);
    }
  });
});

describe('--help names the instruments', () => {
  it.each([
    ['rkvdns', ['--help']],
    ['agent', ['run', '--help']],
    ['totalize', ['exporter', '--help']],
  ] as const)('%s %s', async (name, args) => {
    const r = await run('node', [bin(name), ...args]);
    expect(r.code).toBe(0);
    for (const endpoint of ['/metrics', '/healthz', '/readyz']) expect(r.stdout).toContain(endpoint);
  });
  it('totalize --help points to the exporter and the prometheus format', async () => {
    const r = await run('node', [bin('totalize'), '--help']);
    expect(r.stdout).toMatch(/prometheus/);
    expect(r.stdout).toMatch(/totalize exporter/);
  });
});
