/**
 * `totalizer-agent check`: runs every rule over a file with no network and reports, per rule, lines matched,
 * distinct keys and examples, and the lines no rule matched. A schema debugger for rules.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createLogger } from '../common/log.js';
import type { AgentConfig } from './config.js';
import { Engine } from './engine.js';
import { splitLines as splitLinesOf } from './lines.js';
import { formatUnits } from '../common/measure.js';
import { fold, type Pending } from './aggregator.js';
import { AgentStats } from './stats.js';
import { sourcesUsed } from './sources.js';

export interface CheckReport {
  /** The source names counted under, and why (sourcesUsed). */
  sources: string;
  lines: number;
  unmatched: number;
  unmatchedExamples: string[];
  rules: { name: string; matched: number; keys: number; examples: string[] }[];
  droppedMissingSubstitution: number;
  /** Matches whose value was no number (sum, max and min rules). */
  valueInvalid: number;
}

export async function checkRules(cfg: AgentConfig, input: Readable, nowSec = Math.floor(Date.now() / 1000)): Promise<CheckReport> {
  const stats = new AgentStats();
  // Per rule, each key and what the lines folded into it (the value a measure keeps).
  const keys = new Map<string, Map<string, Pending>>(cfg.rules.map((r) => [r.name, new Map()]));
  const engine = new Engine(stats, createLogger('silent', 'check'), (key, rule, _, units) => {
    const held = keys.get(rule.name)!;
    const p = held.get(key);
    if (p) fold(p, { n: 1, s: units });
    else held.set(key, { measure: rule.measure, n: 1, s: units, ttl: rule.ttl });
  });
  const unmatchedExamples: string[] = [];
  let pending: Buffer = Buffer.alloc(0);
  const feed = (buf: Buffer) => {
    // Whole lines only; the datagram splitter does the escaping exactly as the listener does.
    for (const line of splitKeepingTail(buf)) {
      const before = stats.lines_unmatched;
      engine.line(line, cfg.rules, nowSec);
      if (stats.lines_unmatched > before && unmatchedExamples.length < 5) unmatchedExamples.push(line);
    }
  };
  function splitKeepingTail(chunk: Buffer): string[] {
    const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    const cut = buf.lastIndexOf(10);
    pending = cut < 0 ? buf : buf.subarray(cut + 1);
    return cut < 0 ? [] : splitLinesOf(buf.subarray(0, cut));
  }
  for await (const chunk of input) feed(chunk as Buffer);
  if (pending.length) for (const line of splitLinesOf(pending)) engine.line(line, cfg.rules, nowSec);
  return {
    sources: sourcesUsed(cfg.rules),
    lines: stats.lines,
    unmatched: stats.lines_unmatched,
    unmatchedExamples,
    droppedMissingSubstitution: stats.dropped_missing_substitution,
    valueInvalid: stats.value_invalid,
    rules: cfg.rules.map((r) => {
      const ks = [...keys.get(r.name)!];
      const shown = ([k, p]: [string, Pending]) => (r.measure === 'count' ? k : `${k} ${valueText(p, r.scale)}`);
      return { name: r.name, matched: stats.perRule.get(r.name) ?? 0, keys: ks.length, examples: ks.slice(0, 3).map(shown) };
    }),
  };
}

/** What a key holds after the lines checked: `sum 5120 over 3 lines`, `max 0.250`. */
function valueText(p: Pending, scale: number): string {
  return p.measure === 'sum' ? `sum ${formatUnits(p.s, scale)} over ${p.n} line(s)` : `${p.measure} ${formatUnits(p.s, scale)}`;
}

export function openInput(file: string | undefined): Readable {
  return !file || file === '-' ? process.stdin : createReadStream(file);
}

export function formatReport(r: CheckReport): string {
  const out: string[] = [`source: ${r.sources}`, `${r.lines} line(s) read`];
  for (const rule of r.rules) {
    out.push(`rule ${rule.name}: ${rule.matched} line(s) matched, ${rule.keys} distinct key(s)`);
    for (const k of rule.examples) out.push(`    ${k}`);
  }
  out.push(`no rule matched: ${r.unmatched} line(s)`);
  for (const l of r.unmatchedExamples) out.push(`    ${l.slice(0, 160)}`);
  if (r.droppedMissingSubstitution) out.push(`matches skipped for a missing substitution: ${r.droppedMissingSubstitution}`);
  if (r.valueInvalid) out.push(`matches skipped for a value that is no number: ${r.valueInvalid}`);
  return out.join('\n');
}
