/** One followed file against real files in a temporary directory, on a clock of the test's own. */
import { appendFileSync, copyFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/common/log.js';
import { FollowedFile, MAX_LINE } from '../../../src/agent/follow/file.js';
import { loadPositions, savePositions } from '../../../src/agent/follow/state.js';

const log = createLogger('silent', 'test');

function setup(rotateAfterMs = 1000) {
  const dir = mkdtempSync(join(tmpdir(), 'follow-'));
  const path = join(dir, 'access.log');
  let t = 0;
  const open = () => new FollowedFile(path, log, rotateAfterMs, () => t);
  /** Every line the file gives until it has nothing more now. */
  const drain = (f: FollowedFile) => {
    const out: string[] = [];
    for (let text = f.read(); text; text = f.read()) out.push(...text.toString().split('\n').filter(Boolean));
    return out;
  };
  return { dir, path, open, drain, advance: (ms: number) => (t += ms) };
}

describe('FollowedFile', () => {
  it('starts at the end (or the start with fromStart), and gives a line only once its newline is written', () => {
    const s = setup();
    writeFileSync(s.path, 'old\n');
    const f = s.open();
    f.open(undefined, false);
    expect(s.drain(f)).toEqual([]);
    appendFileSync(s.path, 'one\ntw');
    expect(s.drain(f)).toEqual(['one']);
    appendFileSync(s.path, 'o\n');
    expect(s.drain(f)).toEqual(['two']);
    const g = s.open();
    g.open(undefined, true);
    expect(s.drain(g)).toEqual(['old', 'one', 'two']);
  });

  it('a rename: the new file is read at once, the old one until quiet for rotateAfterMs, its last line taken without a newline', () => {
    const s = setup(1000);
    writeFileSync(s.path, '');
    const f = s.open();
    f.open(undefined, false);
    appendFileSync(s.path, 'a\n');
    renameSync(s.path, `${s.path}.1`);
    writeFileSync(s.path, 'new\n');
    appendFileSync(`${s.path}.1`, 'late\nlast without newline');
    expect(s.drain(f)).toEqual(['a', 'late', 'new']);
    expect(f.position()!.rotated).toHaveLength(1);
    appendFileSync(`${s.path}.1`, ', finished');
    s.advance(999);
    expect(s.drain(f)).toEqual([]);
    s.advance(1000);
    appendFileSync(s.path, 'newer\n');
    expect(s.drain(f)).toEqual(['last without newline, finished', 'newer']);
    expect(f.position()!.rotated).toBeUndefined();
  });

  it('rotated twice before the first old file is quiet: all three are read, none skipped', () => {
    const s = setup(1000);
    writeFileSync(s.path, '');
    const f = s.open();
    f.open(undefined, false);
    appendFileSync(s.path, 'one\n');
    renameSync(s.path, `${s.path}.1`);
    writeFileSync(s.path, 'two\n');
    expect(s.drain(f)).toEqual(['one', 'two']);
    renameSync(`${s.path}.1`, `${s.path}.2`);
    renameSync(s.path, `${s.path}.1`);
    writeFileSync(s.path, 'three\n');
    appendFileSync(`${s.path}.2`, 'late one\n');
    appendFileSync(`${s.path}.1`, 'late two\n');
    expect(s.drain(f).sort()).toEqual(['late one', 'late two', 'three']);
  });

  it('copytruncate: a shorter file, or one whose first bytes changed, is read again from its start', () => {
    const s = setup();
    writeFileSync(s.path, '');
    const f = s.open();
    f.open(undefined, false);
    appendFileSync(s.path, 'first line\nsecond line\n');
    expect(s.drain(f)).toEqual(['first line', 'second line']);
    truncateSync(s.path, 0);
    appendFileSync(s.path, 'x\n');
    expect(s.drain(f)).toEqual(['x']);
    // Same size as before, other first bytes.
    truncateSync(s.path, 0);
    appendFileSync(s.path, 'y\n');
    expect(s.drain(f)).toEqual(['y']);
  });

  it('copytruncate after lines not read yet: they are read from the copy (same first bytes), then the cut file', () => {
    const s = setup(0);
    writeFileSync(s.path, '');
    const f = s.open();
    f.open(undefined, false);
    const line = (n: number) => `10.0.0.${n} - - [07/Dec/2026:04:53:18 +0000] "GET /page/${n} HTTP/1.1" 200 ${n}`;
    appendFileSync(s.path, `${line(1)}\n${line(2)}\n`);
    expect(s.drain(f)).toEqual([line(1), line(2)]);
    appendFileSync(s.path, `${line(3)}\n${line(4)}\n`);
    copyFileSync(s.path, `${s.path}.1`);
    truncateSync(s.path, 0);
    appendFileSync(s.path, `${line(5)}\n`);
    expect(s.drain(f).sort()).toEqual([line(3), line(4), line(5)].sort());
  });

  it('a restart resumes at the saved position; rotated meanwhile, the old file is finished first', () => {
    const s = setup(0);
    writeFileSync(s.path, '');
    const f = s.open();
    f.open(undefined, false);
    appendFileSync(s.path, 'sent\n');
    expect(s.drain(f)).toEqual(['sent']);
    const state = join(s.dir, 'state.json');
    savePositions(state, { [s.path]: f.position()! });
    f.close();
    appendFileSync(s.path, 'while stopped\n');
    renameSync(s.path, `${s.path}.1`);
    writeFileSync(s.path, 'after the rotation\n');
    const g = s.open();
    g.open(loadPositions(state).positions[s.path], false);
    expect(s.drain(g)).toEqual(['while stopped', 'after the rotation']);
  });

  it('the old file gone (compressed) while stopped: the new one is read from its start', () => {
    const s = setup(0);
    writeFileSync(s.path, 'x\n');
    const f = s.open();
    f.open(undefined, true);
    s.drain(f);
    const saved = f.position()!;
    f.close();
    rmSync(s.path);
    writeFileSync(s.path, 'new\n');
    const g = s.open();
    g.open(saved, false);
    expect(s.drain(g)).toEqual(['new']);
  });

  it('a line longer than MAX_LINE is skipped up to its newline and counted', () => {
    const s = setup();
    writeFileSync(s.path, '');
    const f = s.open();
    f.open(undefined, false);
    appendFileSync(s.path, `before\n${'z'.repeat(MAX_LINE + 10)}`);
    expect(s.drain(f)).toEqual(['before']);
    appendFileSync(s.path, 'zzz\nafter\n');
    expect(s.drain(f)).toEqual(['after']);
    expect(f.linesTooLong).toBe(1);
  });
});

describe('the state file', () => {
  it('missing: no positions, no problem; corrupt: no positions, and says why', () => {
    const dir = mkdtempSync(join(tmpdir(), 'follow-state-'));
    expect(loadPositions(join(dir, 'none.json'))).toEqual({ positions: {}, problem: null });
    writeFileSync(join(dir, 'bad.json'), '{"files": {"/x": {"dev": 1}}}');
    expect(loadPositions(join(dir, 'bad.json')).problem).toMatch(/not a follow state file .*\/x is not \{dev, ino, pos, head, rotated\?\}/);
    writeFileSync(join(dir, 'garbage.json'), 'not json');
    expect(loadPositions(join(dir, 'garbage.json')).problem).toMatch(/not a follow state file/);
  });
});
