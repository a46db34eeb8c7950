/**
 * A rule's measure (common/measure.ts): `measure: count | sum | max | min`, and for the last three `value`, a
 * template of capture references (`{3}`, or `{name}` for a named group) giving the number each line carries,
 * kept at `scale` decimal places. A JS rule's postproc returns `value` instead.
 */
import { MAX_SCALE, MEASURES, type Measure } from '../common/measure.js';

export interface RuleMeasure {
  measure: Measure;
  scale: number;
  /** The value's text from a match, for the measures that take one; null for count. */
  value: ((m: RegExpExecArray) => string | undefined) | null;
}

export function compileMeasure(
  spec: { measure?: unknown; value?: unknown; scale?: unknown; postproc?: unknown },
  fail: (problem: string) => never,
): RuleMeasure {
  const measure = (spec.measure ?? 'count') as Measure;
  if (!MEASURES.includes(measure)) fail(`measure must be one of ${MEASURES.join(', ')}, got '${String(spec.measure)}'`);
  const scale = spec.scale ?? 0;
  if (!Number.isInteger(scale) || (scale as number) < 0 || (scale as number) > MAX_SCALE)
    fail(`scale (decimal places kept) must be an integer from 0 to ${MAX_SCALE}, got ${String(spec.scale)}`);
  if (measure === 'count') {
    if (spec.value !== undefined) fail(`value is for measure sum, max or min; this rule counts lines (measure: count)`);
    return { measure, scale: scale as number, value: null };
  }
  if (spec.postproc) {
    if (spec.value !== undefined) fail('postproc returns the value itself ({ matched, value }); drop value');
    return { measure, scale: scale as number, value: null };
  }
  if (typeof spec.value !== 'string' || !/\{(\d+|[A-Za-z_]\w*)\}/.test(spec.value))
    fail(`measure ${measure} needs value: a capture reference such as "{3}" or "{bytes}" giving each line's number`);
  // "{3}" → ['', '3', '']: literals at even positions, references at odd ones, split once here.
  const parts = spec.value.split(/\{(\d+|[A-Za-z_]\w*)\}/);
  // A lone reference (the usual "{3}"): the capture itself, no string built per line.
  if (parts.length === 3 && parts[0] === '' && parts[2] === '') {
    const ref = parts[1]!;
    const only = /^\d+$/.test(ref) ? (m: RegExpExecArray) => m[Number(ref)] : (m: RegExpExecArray) => m.groups?.[ref];
    return { measure, scale: scale as number, value: only };
  }
  const value = (m: RegExpExecArray) => {
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      if (i % 2 === 0) out += parts[i];
      else {
        const ref = parts[i]!;
        const v = /^\d+$/.test(ref) ? m[Number(ref)] : m.groups?.[ref];
        if (v === undefined) return undefined;
        out += v;
      }
    }
    return out;
  };
  return { measure, scale: scale as number, value };
}
