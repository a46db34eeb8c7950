/** Values given as Buffers (null for none), as the packed run rkvdns reads from Redis. */
import { ValueReads, type ValueRun } from '../../src/redis/scan-values.js';

export function valueRunOf(values: readonly (Buffer | null)[]): ValueRun {
  const reads = new ValueReads(null, values.length);
  values.forEach((v, i) => reads.put(i, v, 0, v ? v.length : 0));
  return reads.run;
}
