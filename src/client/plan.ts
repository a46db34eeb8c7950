/**
 * What to total and how to show it, from what a reader asked (the command line, or a dashboard request) and the
 * totalizer's description: the match spec, the grouping (fields, or named parts of matched), and the render
 * options. One place, so `totalize --format json` and the dashboard's API give the same totals.
 */
import type { Description } from '../common/description.js';
import { columnNames, groupingOf, regroupByParts } from './grouping.js';
import type { FieldSpec } from './matchspec.js';
import type { RenderOptions } from './render.js';
import { buildSpec } from './spec.js';
import type { TotalOptions } from './total.js';

export interface PlanRequest {
  prefix: string;
  /** Upstream-style tokens (`break _ 200`); when given, by and where are not used. */
  tokens?: readonly string[];
  /** Default: the description's, else the original agent's. */
  keypattern?: string;
  by?: string[];
  where?: string[];
  delimiter: string;
  /** Column names for the parts of the grouped fields; default: the description's. */
  columns?: string[];
  trend: boolean;
  /** Columns of the per-group series (sparklines, charts); none when not given. */
  sparkBins?: number;
  top?: number;
}

export interface Plan {
  spec: FieldSpec[];
  breakNames: string[];
  /** What total() needs besides zone, window and the transport. */
  options: Pick<TotalOptions, 'delimiter' | 'trend' | 'sparkBins' | 'description' | 'regroup'>;
  render: RenderOptions;
}

/** The plan for `r`; SpecErrors say what to ask instead (an unknown field, a bad filter). */
export function planTotal(r: PlanRequest, description: Description | null): Plan {
  const grouping = groupingOf({ delimiter: r.delimiter, ...(r.keypattern ? { keypattern: r.keypattern } : {}), ...(r.by ? { by: r.by } : {}) }, description);
  const { spec, breakNames } = buildSpec({
    prefix: r.prefix,
    tokens: r.tokens ?? [],
    keypattern: grouping.keypattern,
    delimiter: r.delimiter,
    ...(grouping.by ? { by: grouping.by } : {}),
    ...(r.where ? { where: r.where } : {}),
  });
  const columns = r.columns ?? columnNames(breakNames, grouping.parts, description);
  return {
    spec,
    breakNames,
    options: {
      delimiter: r.delimiter,
      trend: r.trend,
      ...(r.sparkBins ? { sparkBins: r.sparkBins } : {}),
      description,
      ...(grouping.parts ? { regroup: regroupByParts(breakNames, grouping.parts, r.delimiter) } : {}),
    },
    render: { breakNames, trend: r.trend, spark: !!r.sparkBins, ...(r.top ? { top: r.top } : {}), ...(columns ? { columns } : {}) },
  };
}
