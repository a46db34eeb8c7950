/** renderRecords: values to records, with the value-size limit, A/AAAA conversion, duplicates and the TTL clamp. */
import * as dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { QTYPE } from '../../../src/dns/constants.js';
import { assemble } from '../../../src/dns/message.js';
import type { DecodedRecord } from '../../helpers/dns.js';
import { compileShardPattern } from '../../../src/query/shards.js';
import { valueRunOf } from '../../helpers/value-run.js';
import { clampTtl, renderRecords, renderTupleTxt, type RenderLimits, type Rendered } from '../../../src/rkvdns/records.js';

const limits: RenderLimits = { MAX_VALUE_PAYLOAD: 8, RETURN_PARTIAL_VALUE: false, DEFAULT_TTL: 30, MIN_TTL: 5, MAX_TTL: 300 };
const B = (s: string) => Buffer.from(s, 'latin1');

/** The rendered records decoded: their data as text (TXT strings joined by '|', addresses as written). */
function decoded(records: Buffer[][], type: number, s: RenderLimits = limits, distinct = false) {
  return decodedRendered(renderRecords(records, type, 42, s, distinct), type);
}

function decodedRendered(r: Rendered, type: number) {
  // The records point at the question's name, so they are decoded in a message that has one.
  const question = Buffer.from([1, 0x78, 0, 0, type, 0, 1]);
  const packet = assemble({ id: 1, rd: false, cd: false, question }, { rcode: 0, answers: r.rrs, authority: [] }, 65535, { setTcOnDrop: false }).packet;
  const data = ((dnsPacket.decode(packet).answers ?? []) as DecodedRecord[]).map((d) => {
    expect(d.ttl).toBe(42);
    return Array.isArray(d.data) ? (d.data as Buffer[]).map(String).join('|') : String(d.data);
  });
  return { data, oversize: r.oversize, unconvertible: r.unconvertible };
}

describe('renderRecords', () => {
  const cases: {
    name: string;
    records: Buffer[][];
    type: number;
    s?: Partial<RenderLimits>;
    distinct?: boolean;
    data: string[];
    oversize?: number;
    unconvertible?: number;
  }[] = [
    { name: 'one TXT record per value', records: [[B('1')], [B('2')]], type: QTYPE.TXT, data: ['1', '2'] },
    { name: 'a tuple is one TXT record of several strings', records: [[B('a'), B('b'), B('3')]], type: QTYPE.TXT, data: ['a|b|3'] },
    { name: 'identical records are sent once', records: [[B('x')], [B('x')], [B('y')]], type: QTYPE.TXT, data: ['x', 'y'] },
    { name: 'a value over MAX_VALUE_PAYLOAD is dropped and counted', records: [[B('123456789')], [B('ok')]], type: QTYPE.TXT, data: ['ok'], oversize: 1 },
    {
      name: 'with RETURN_PARTIAL_VALUE it is cut instead',
      records: [[B('123456789')]],
      type: QTYPE.TXT,
      s: { RETURN_PARTIAL_VALUE: true },
      data: ['12345678'],
      oversize: 1,
    },
    { name: 'A from a dotted quad', records: [[B('10.1.2.3')]], type: QTYPE.A, data: ['10.1.2.3'] },
    {
      name: 'A from a value that is no address: left out and counted',
      records: [[B('nope')], [B('1.2.3.4')]],
      type: QTYPE.A,
      data: ['1.2.3.4'],
      unconvertible: 1,
    },
    { name: 'A from a tuple: left out and counted', records: [[B('1.2.3.4'), B('5.6.7.8')]], type: QTYPE.A, data: [], unconvertible: 1 },
    { name: 'AAAA from an IPv6 address', records: [[B('2001:db8::1')]], type: QTYPE.AAAA, s: { MAX_VALUE_PAYLOAD: 64 }, data: ['2001:db8::1'] },
    { name: 'no values, no records', records: [], type: QTYPE.TXT, data: [] },
    {
      name: 'distinct records (a shget of one tuple per key) all sent',
      records: [
        [B('a'), B('1')],
        [B('b'), B('1')],
      ],
      type: QTYPE.TXT,
      distinct: true,
      data: ['a|1', 'b|1'],
    },
    {
      name: 'distinct records cut to the same text are sent once',
      records: [[B('abcdefgh1')], [B('abcdefgh2')]],
      type: QTYPE.TXT,
      s: { RETURN_PARTIAL_VALUE: true },
      distinct: true,
      data: ['abcdefgh'],
      oversize: 2,
    },
    {
      name: 'distinct records the same once a value is dropped are sent once',
      records: [
        [B('a'), B('123456789')],
        [B('a'), B('987654321')],
      ],
      type: QTYPE.TXT,
      distinct: true,
      data: ['a'],
      oversize: 2,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = decoded(c.records, c.type, { ...limits, ...c.s }, c.distinct);
      expect(got.data).toEqual(c.data);
      expect(got.oversize).toBe(c.oversize ?? 0);
      expect(got.unconvertible).toBe(c.unconvertible ?? 0);
    });
  }
});

describe('renderTupleTxt', () => {
  const pattern = compileShardPattern(B('web;*;*'))!;
  const render = (pairs: [string, string | null][], s: Partial<RenderLimits> = {}) =>
    renderTupleTxt(
      pairs.map(([k]) => B(k)),
      valueRunOf(pairs.map(([, v]) => (v === null ? null : B(v)))),
      pattern,
      42,
      { ...limits, ...s },
    );

  it("each matching key with a value is a record of its captures and the value, in the keys' order", () => {
    const r = render([
      ['web;b;2', '7'],
      ['web;other', 'x'],
      ['web;a;1', null],
      ['web;;3', ''],
      ['web;a;1', '5'],
    ]);
    expect(decodedRendered(r!, QTYPE.TXT).data).toEqual(['b|2|7', '|3|', 'a|1|5']);
  });

  it('a value or a capture over MAX_VALUE_PAYLOAD leaves the page to renderRecords (which cuts or drops it)', () => {
    expect(render([['web;a;1', '123456789']])).toBeNull();
    expect(render([['web;abcdefghi;1', '5']])).toBeNull();
    expect(render([['web;abcdefgh;1', '12345678']])).not.toBeNull();
  });
});

describe('clampTtl', () => {
  const cases: [number | null, number][] = [
    [null, 30],
    [-1, 30],
    [0, 5],
    [3, 5],
    [60, 60],
    [301, 300],
    [86400, 300],
  ];
  for (const [ttl, want] of cases) it(`${ttl} → ${want}`, () => expect(clampTtl(ttl, limits)).toBe(want));
});
