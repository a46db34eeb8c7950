import { describe, expect, it } from 'vitest';
import { SpecError } from '../../../src/client/matchspec.js';
import { buildSpec, fieldNames, parseWindow } from '../../../src/client/spec.js';

const KP = '<prefix>;<matched>;<source>;<start_ts>';

describe('parseWindow', () => {
  const cases: [string, number | null][] = [
    ['3600', 3600],
    ['90s', 90],
    ['30m', 1800],
    ['1h', 3600],
    ['1.5h', 5400],
    ['1d', 86400],
    [' 2m ', 120],
    ['1w', null],
    ['h', null],
    ['-1h', null],
  ];
  for (const [v, want] of cases) {
    it(`'${v}' → ${want ?? 'error'}`, () => {
      if (want === null) expect(() => parseWindow(v)).toThrow(SpecError);
      else expect(parseWindow(v)).toBe(want);
    });
  }
});

describe('fieldNames', () => {
  it('reads names off the pattern, optional parts included, timestamp left out', () => {
    expect(fieldNames('<prefix>;<matched>{;<source>};<start_ts>', ';')).toEqual(['prefix', 'matched', 'source']);
    expect(fieldNames('<prefix>|<a>|<start_ts>', '|')).toEqual(['prefix', 'a']);
  });
  it('refuses a field that is not one <name>, and a pattern not ending in <start_ts>', () => {
    expect(() => fieldNames('<prefix>;matched;<start_ts>', ';')).toThrow(/every field must be one <name>/);
    expect(() => fieldNames('<prefix>;<matched>', ';')).toThrow(/last field must be <start_ts>/);
  });
});

describe('buildSpec', () => {
  const cases: { name: string; req: Partial<Parameters<typeof buildSpec>[0]>; spec?: unknown[]; breakNames?: string[]; error?: RegExp }[] = [
    { name: 'default: group by matched', req: {}, spec: [{ kind: 'literal', value: 'web' }, { kind: 'break' }, { kind: 'ignore' }], breakNames: ['matched'] },
    { name: '--by source', req: { by: ['source'] }, spec: [{ kind: 'literal', value: 'web' }, { kind: 'ignore' }, { kind: 'break' }], breakNames: ['source'] },
    {
      name: '--by matched --where source=web1',
      req: { by: ['matched'], where: ['source=web1'] },
      spec: [{ kind: 'literal', value: 'web' }, { kind: 'break' }, { kind: 'literal', value: 'web1' }],
      breakNames: ['matched'],
    },
    {
      name: '--where with a partial',
      req: { where: ['source=web*'] },
      spec: [{ kind: 'literal', value: 'web' }, { kind: 'break' }, { kind: 'partial', before: 'web', after: '', group: true }],
      breakNames: ['matched', 'source'],
    },
    {
      name: 'upstream tokens',
      req: { tokens: ['_', 'break'] },
      spec: [{ kind: 'literal', value: 'web' }, { kind: 'ignore' }, { kind: 'break' }],
      breakNames: ['source'],
    },
    { name: 'tokens past the pattern get field names', req: { tokens: ['break', 'break', 'break'] }, breakNames: ['matched', 'source', 'field4'] },
    { name: 'an unknown --by field', req: { by: ['host'] }, error: /unknown field 'host'; the key pattern has prefix, matched, source/ },
    { name: 'a --where without =', req: { where: ['source'] }, error: /--where 'source' is not FIELD=VALUE/ },
    { name: 'a pattern not starting with <prefix>', req: { keypattern: '<matched>;<start_ts>' }, error: /must start with <prefix>/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const run = () => buildSpec({ prefix: 'web', tokens: [], keypattern: KP, delimiter: ';', ...c.req });
      if (c.error) return void expect(run).toThrow(c.error);
      const built = run();
      if (c.spec) expect(built.spec).toEqual(c.spec);
      expect(built.breakNames).toEqual(c.breakNames);
    });
  }
});
