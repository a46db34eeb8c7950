/** Which source names the agent's counts carry, and why, for the start-up line and `check`. */
import type { Rule } from './rules.js';

export function sourcesUsed(rules: readonly Rule[]): string {
  const seen = new Map<string, Rule['sourceFrom']>();
  for (const r of rules) seen.set(r.fixed.source!, r.sourceFrom);
  return [...seen]
    .map(([source, from]) => `${source} (${from === 'host name' ? "this machine's short host name: source is unset" : 'source in the config'})`)
    .join(', ');
}
