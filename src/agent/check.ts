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
}

export async function checkRules(cfg: AgentConfig, input: Readable, nowSec = Math.floor(Date.now() / 1000)): Promise<CheckReport> {
  const stats = new AgentStats();
  const keys = new Map<string, Set<string>>(cfg.rules.map((r) => [r.name, new Set()]));
  const engine = new Engine(stats, createLogger('silent', 'check'), (key, rule) => keys.get(rule.name)!.add(key));
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
    rules: cfg.rules.map((r) => {
      const ks = [...keys.get(r.name)!];
      return { name: r.name, matched: stats.perRule.get(r.name) ?? 0, keys: ks.length, examples: ks.slice(0, 3) };
    }),
  };
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
  return out.join('\n');
}
