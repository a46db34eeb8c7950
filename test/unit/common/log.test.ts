import { describe, expect, it } from 'vitest';
import { rateLimited } from '../../../src/common/log.js';

describe('rateLimited', () => {
  it('lets through N lines a second and reports how many it left out with the next one', () => {
    let t = 0;
    const out: string[] = [];
    const log = rateLimited(
      (m) => out.push(m),
      2,
      () => t,
    );
    for (let i = 0; i < 5; i++) log(`line ${i}`);
    expect(out).toEqual(['line 0', 'line 1']);
    t = 1000;
    log('line 5');
    log('line 6');
    expect(out).toEqual(['line 0', 'line 1', 'line 5 (3 similar line(s) suppressed)', 'line 6']);
  });
});
