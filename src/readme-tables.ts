/**
 * The README's generated tables, each between `<!-- NAME:begin -->` and `<!-- NAME:end -->`, from the declared
 * lists: `npm run docs:tables` rewrites them, and a unit test fails when the README and the lists differ.
 */
import { agentMetricsTable } from './agent/counters.js';
import { exporterMetricsTable } from './client/exporter.js';
import { metricsTable, statsTable } from './rkvdns/counters.js';

export const README_TABLES: Record<string, () => string> = {
  counters: statsTable,
  'rkvdns-metrics': metricsTable,
  'agent-metrics': agentMetricsTable,
  'totals-metrics': exporterMetricsTable,
};

const marked = (name: string) => new RegExp(`<!-- ${name}:begin -->\\n([^]*?)\\n?<!-- ${name}:end -->`);

/** The table as the README has it, or undefined when its markers are missing. */
export function readmeTable(readme: string, name: string): string | undefined {
  return marked(name).exec(readme)?.[1];
}

/** The README with every table regenerated. */
export function withTables(readme: string): string {
  return Object.entries(README_TABLES).reduce(
    (text, [name, table]) => text.replace(marked(name), `<!-- ${name}:begin -->\n${table()}\n<!-- ${name}:end -->`),
    readme,
  );
}
