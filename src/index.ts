/** Library entry point: totals through DNS. */
export { total, makeLookups, TotalError, type TotalOptions, type TotalResult, type GroupResult, type Diagnostics } from './client/total.js';
export { type FieldSpec, SpecError } from './client/matchspec.js';
