import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ephemeralLow, freePort, LOWEST } from '../../../src/common/ports.js';

describe('free ports', () => {
  it("reads the ephemeral range's low end, 32768 when the file is missing or unreadable", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ports-'));
    writeFileSync(join(dir, 'range'), '40000\t60999\n');
    writeFileSync(join(dir, 'garbage'), 'none\n');
    expect(ephemeralLow(join(dir, 'range'))).toBe(40000);
    expect(ephemeralLow(join(dir, 'garbage'))).toBe(32768);
    expect(ephemeralLow(join(dir, 'missing'))).toBe(32768);
    rmSync(dir, { recursive: true });
  });

  it('chooses ports below the ephemeral range, where no outgoing connection is given one', async () => {
    const low = ephemeralLow();
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(LOWEST);
      expect(port).toBeLessThan(low);
    }
  });
});
