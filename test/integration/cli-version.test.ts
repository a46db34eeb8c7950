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
