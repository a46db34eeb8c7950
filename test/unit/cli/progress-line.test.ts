import { describe, expect, it } from 'vitest';
import { progressLine } from '../../../src/cli/progress-line.js';

/** A terminal stand-in that keeps what was written, and a clock the test moves. */
function terminal() {
  const written: string[] = [];
  const out = { columns: 80, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  let t = 0;
  return { written, out, now: () => t, at: (ms: number) => (t = ms) };
}

describe('progress line', () => {
  it('stays quiet for the first second, then shows pages, keys and the time left at the pace so far', () => {
    const term = terminal();
    const line = progressLine(term.out, term.now);
    term.at(500);
    line.progress.pages!('web;*;*.shget', 10, 100, 8000);
    expect(term.written).toEqual([]);
    // The paging was first reported at 500 ms with 10 pages: 40 more in 1,000 ms leave 50 pages, about 2 s.
    term.at(1500);
    line.progress.pages!('web;*;*.shget', 50, 100, 40_000);
    expect(term.written.at(-1)).toBe('\r\x1b[Klisting web;*;*.shget: 50 of 100 pages, 40,000 keys, about 2 s left');
  });

  it('the counting before the pages does not count toward their pace; the line is erased at the end', () => {
    const term = terminal();
    const line = progressLine(term.out, term.now);
    line.progress.pages!('k.shget', 0, 0, 0);
    term.at(3000);
    line.progress.pages!('k.shget', 0, 0, 0);
    expect(term.written.at(-1)).toBe('\r\x1b[Klisting k.shget: counting its keys');
    term.at(3100);
    line.progress.pages!('k.shget', 1, 1000, 500);
    term.at(4100);
    // 10 pages in the 1,000 ms since paging began (not since the count): 990 left at 100 a second.
    line.progress.pages!('k.shget', 11, 1000, 5500);
    expect(term.written.at(-1)).toContain('about 99 s left');
    line.end();
    expect(term.written.at(-1)).toBe('\r\x1b[K');
  });

  it('writes nothing, not even the erasure, when the total ended within the quiet second', () => {
    const term = terminal();
    const line = progressLine(term.out, term.now);
    line.progress.values!(5, 10);
    term.at(900);
    line.progress.values!(10, 10);
    line.end();
    expect(term.written).toEqual([]);
  });
});
