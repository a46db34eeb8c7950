/**
 * The agent's core, with no sockets: lines in, keys out. Each line is tested against every rule bound to
 * the address:port it arrived on; every matching rule yields one increment.
 */
import type { Logger } from '../common/log.js';
import { parseUnits } from '../common/measure.js';
import { BucketClock } from './buckets.js';
import { splitLines } from './lines.js';
import { keyFor, type Rule } from './rules.js';
import type { AgentStats } from './stats.js';

/** One match's addition: to `key`, by `rule`'s measure, `units` of its value (0 for a count). */
export type Sink = (key: string, rule: Rule, line: string, units: number) => void;

export class Engine {
  private readonly clock = new BucketClock();
  private readonly warnedMissing = new Set<string>();
  private readonly warnedValue = new Set<string>();

  constructor(
    private readonly stats: AgentStats,
    private readonly log: Logger,
    private readonly sink: Sink,
    private readonly now: () => number = () => Date.now() / 1000,
  ) {}

  /** The lines of `text` (whole lines: what reassembly gives), each tested against `rules`. */
  lines(text: Buffer, rules: readonly Rule[], echo?: (line: string) => void): void {
    const nowSec = Math.floor(this.now());
    for (const line of splitLines(text)) this.line(line, rules, nowSec, echo);
  }

  line(line: string, rules: readonly Rule[], nowSec: number, echo?: (line: string) => void): void {
    echo?.(line);
    let matchedAny = false;
    for (const rule of rules) {
      const m = rule.regex.exec(line);
      if (!m) continue;
      matchedAny = true;
      this.stats.match(rule.name);
      const r = keyFor(rule, m, this.clock.start(rule, nowSec));
      if ('key' in r) {
        if (rule.measure === 'count') this.sink(r.key, rule, line, 0);
        else this.measured(r.key, r.value, rule, line);
      } else if ('ignored' in r) this.stats.ignored++;
      else {
        this.stats.dropped_missing_substitution++;
        const id = `${rule.name}/${r.missing}`;
        // Log the first occurrence per rule and substitution; the counter carries the rest.
        if (!this.warnedMissing.has(id)) {
          this.warnedMissing.add(id);
          this.log.warn(`rule ${rule.name}: no value for <${r.missing}>, match skipped (counted as dropped_missing_substitution), line: ${line.slice(0, 200)}`);
        }
      }
    }
    this.stats.line(matchedAny);
  }

  /** A value that is no number (or none at all) is counted and the line not applied to this rule. */
  private measured(key: string, value: string | undefined, rule: Rule, line: string): void {
    const units = value === undefined ? null : parseUnits(value.trim(), rule.scale);
    if (units !== null) return this.sink(key, rule, line, units);
    this.stats.value_invalid++;
    if (!this.warnedValue.has(rule.name)) {
      this.warnedValue.add(rule.name);
      this.log.warn(
        `rule ${rule.name}: value ${value === undefined ? 'missing' : `'${value.slice(0, 40)}'`} is not a number with at most ${rule.scale} decimals, line skipped (counted as value_invalid), line: ${line.slice(0, 200)}`,
      );
    }
  }
}
