/**
 * The reference pages' generated tables, each between `<!-- NAME:begin -->` and `<!-- NAME:end -->`, made from the
 * declared lists (settings, counters, metric families): `npm run docs:tables` rewrites them, and a unit test fails
 * when a page and the lists differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { agentMetricsTable } from './agent/counters.js';
import { exporterMetricsTable } from './client/exporter.js';
import { metricsTable, statsTable } from './rkvdns/counters.js';
import { settingsTable } from './rkvdns/settings.js';

/** Per page (relative to the package root), its tables by name. */
export const DOC_TABLES: Record<string, Record<string, () => string>> = {
  'docs/rkvdns.md': { settings: settingsTable, counters: statsTable },
  'docs/MONITORING.md': { 'rkvdns-metrics': metricsTable, 'agent-metrics': agentMetricsTable, 'totals-metrics': exporterMetricsTable },
};

const marked = (name: string) => new RegExp(`<!-- ${name}:begin -->\\n([^]*?)\\n?<!-- ${name}:end -->`);

/** The table as the page has it, or undefined when its markers are missing. */
export function pageTable(page: string, name: string): string | undefined {
  return marked(name).exec(page)?.[1];
}

/** The page with each of its tables regenerated. */
export function withTables(page: string, tables: Record<string, () => string>): string {
  return Object.entries(tables).reduce((text, [name, table]) => text.replace(marked(name), `<!-- ${name}:begin -->\n${table()}\n<!-- ${name}:end -->`), page);
}

/** Rewrites every page's tables in place (npm run docs:tables). */
function main(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  for (const [file, tables] of Object.entries(DOC_TABLES)) {
    const path = `${root}${file}`;
    const before = readFileSync(path, 'utf8');
    const after = withTables(before, tables);
    if (after !== before) writeFileSync(path, after);
    process.stdout.write(`${file}: ${after === before ? 'unchanged' : 'rewritten'}\n`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
