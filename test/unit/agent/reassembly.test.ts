import { describe, expect, it } from 'vitest';
import { splitLines } from '../../../src/agent/lines.js';
import { LineReassembler, type ReassemblyLimits } from '../../../src/agent/reassembly.js';
import { AgentStats } from '../../../src/agent/stats.js';

const LIMITS: ReassemblyLimits = { timeoutMs: 2000, maxBytes: 1000, maxSenders: 100 };

/** A reassembler on a clock of the test's own, and every line it lets through, in order. */
function setup(limits: Partial<ReassemblyLimits> = {}) {
  let t = 0;
  const stats = new AgentStats();
  const r = new LineReassembler({ ...LIMITS, ...limits }, stats, () => t);
  const lines: string[] = [];
  const out = (text: Buffer) => lines.push(...splitLines(text));
  return {
    r,
    stats,
    lines,
    send: (sender: string, datagram: string) => {
      const text = r.take(Buffer.from(datagram, 'latin1'), () => sender, out);
      if (text) out(text);
    },
    expire: () => r.expire().forEach(out),
    drain: () => r.drain().forEach(out),
    advance: (ms: number) => (t += ms),
  };
}

const LINES = Array.from({ length: 500 }, (_, i) => `10.0.${i % 7}.${i} - - [07/Dec/2026:04:31:15 +0000] "GET /p/${i} HTTP/1.1" 200 ${i * 13}`);
const TEXT = LINES.join('\n') + '\n';

/** `text` cut every `size` bytes, as nc cuts what it reads. */
const chunks = (text: string, size: number) => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

describe('LineReassembler', () => {
  // Datagrams longer than a line, as nc's 16 KiB reads are: each holds a newline, wherever it is cut.
  it.each([100, 997, 16384])('a file sent in %i-byte datagrams, lines cut anywhere, gives every line once', (size) => {
    const s = setup();
    for (const c of chunks(TEXT, size)) s.send('a|1', c);
    expect(s.lines).toEqual(LINES);
    expect(s.r.held).toBe(0);
  });

  it('two senders cut at different places are kept apart', () => {
    const s = setup();
    const a = chunks(TEXT, 83);
    const b = chunks(TEXT.replaceAll('GET', 'PUT'), 97);
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i]) s.send('a|1', a[i]!);
      if (b[i]) s.send('b|2', b[i]!);
    }
    expect(s.lines.filter((l) => l.includes('GET'))).toEqual(LINES);
    expect(s.lines.filter((l) => l.includes('PUT'))).toEqual(LINES.map((l) => l.replace('GET', 'PUT')));
  });

  it('a datagram without a newline is a whole line when nothing waits (syslog, logger)', () => {
    const s = setup();
    s.send('a|1', '<13>Dec  7 04:31:15 vm sshd: accepted');
    s.send('a|1', '<13>1 2026-12-07T04:31:15.138064+00:00 vm backup - - - hello');
    expect(s.lines).toEqual(['<13>Dec  7 04:31:15 vm sshd: accepted', '<13>1 2026-12-07T04:31:15.138064+00:00 vm backup - - - hello']);
    expect(s.r.held).toBe(0);
    expect(s.stats.partial_lines_joined).toBe(0);
  });

  it('a line longer than a datagram, continued by datagrams without a newline, is joined whole', () => {
    const s = setup({ maxBytes: 10_000 });
    const long = 'x'.repeat(3000);
    s.send('a|1', `first\n${long.slice(0, 1000)}`);
    s.send('a|1', long.slice(1000, 2000));
    s.send('a|1', `${long.slice(2000)}\nlast\n`);
    expect(s.lines).toEqual(['first', long, 'last']);
    expect(s.stats.partial_lines_joined).toBe(1);
  });

  it('an unfinished line waits for its timeout, then is taken as it is and counted', () => {
    const s = setup();
    s.send('a|1', 'one\ntwo\nthe end without a newline');
    expect(s.lines).toEqual(['one', 'two']);
    s.advance(1999);
    s.expire();
    expect(s.lines).toEqual(['one', 'two']);
    s.advance(1);
    s.expire();
    expect(s.lines).toEqual(['one', 'two', 'the end without a newline']);
    expect(s.stats.partial_lines_expired).toBe(1);
    expect(s.r.held).toBe(0);
  });

  it('a line past maxBytes is dropped with the rest of it, counted; the next lines are whole', () => {
    const s = setup({ maxBytes: 100 });
    s.send('a|1', `ok\n${'y'.repeat(80)}`);
    s.send('a|1', 'y'.repeat(80));
    s.send('a|1', `${'y'.repeat(80)}\nnext\n`);
    expect(s.lines).toEqual(['ok', 'next']);
    expect(s.stats.dropped_partial_too_long).toBe(1);
    expect(s.stats.partial_lines_joined).toBe(0);
  });

  it('beyond maxSenders the oldest unfinished line is taken as it is', () => {
    const s = setup({ maxSenders: 2 });
    s.send('a|1', 'a\nA-unfinished');
    s.send('b|1', 'b\nB-unfinished');
    s.send('c|1', 'c\nC-unfinished');
    expect(s.lines).toEqual(['a', 'b', 'A-unfinished', 'c']);
    expect(s.r.held).toBe(2);
    s.drain();
    expect(s.lines.slice(4)).toEqual(['B-unfinished', 'C-unfinished']);
    expect(s.stats.partial_lines_expired).toBe(3);
  });

  it('with timeoutMs 0 every datagram stands alone, as before reassembly', () => {
    const s = setup({ timeoutMs: 0 });
    s.send('a|1', 'one\ntw');
    s.send('a|1', 'o\nthree\n');
    expect(s.lines).toEqual(['one', 'tw', 'o', 'three']);
  });
});
