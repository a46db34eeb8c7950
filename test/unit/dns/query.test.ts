import { describe, expect, it } from 'vitest';
import { parseQuery } from '../../../src/dns/query.js';
import { buildQuery } from '../../helpers/dns.js';

const reason = (b: Buffer) => {
  const r = parseQuery(b);
  return r.ok ? 'ok' : `${r.rejection.kind}:${r.rejection.reason}`;
};

describe('parseQuery', () => {
  it('keeps labels as raw bytes, dots and semicolons included', () => {
    const r = parseQuery(buildQuery('10\\.0\\.0\\.224\\;*\\;flow.keys.z', 'TXT', { edns: 1232 }));
    expect(r.ok && r.query.labels.map((l) => l.toString())).toEqual(['10.0.0.224;*;flow', 'keys', 'z']);
    expect(r.ok && r.query.edns?.udpSize).toBe(1232);
  });

  it.each([
    ['short packet', Buffer.alloc(5), 'ignore:short'],
    [
      'response',
      (() => {
        const b = buildQuery('a.z', 'TXT');
        b[2]! |= 0x80;
        return b;
      })(),
      'ignore:response',
    ],
    [
      'opcode 2',
      (() => {
        const b = buildQuery('a.z', 'TXT');
        b[2]! |= 2 << 3;
        return b;
      })(),
      'notimp:opcode 2',
    ],
    [
      'QDCOUNT 2',
      (() => {
        const b = buildQuery('a.z', 'TXT');
        b.writeUInt16BE(2, 4);
        return b;
      })(),
      'formerr:QDCOUNT 2',
    ],
    [
      'QDCOUNT 0',
      (() => {
        const b = buildQuery('a.z', 'TXT');
        b.writeUInt16BE(0, 4);
        return b;
      })(),
      'formerr:QDCOUNT 0',
    ],
    [
      'label > 63',
      Buffer.concat([Buffer.from('000001000001000000000000', 'hex'), Buffer.from([64]), Buffer.alloc(64, 97), Buffer.from([0, 0, 16, 0, 1])]),
      'formerr:label length 64 > 63',
    ],
    [
      'pointer loop',
      Buffer.concat([Buffer.from('000001000001000000000000', 'hex'), Buffer.from([0xc0, 12, 0, 16, 0, 1])]),
      'formerr:compression pointer in question',
    ],
    ['truncated name', Buffer.concat([Buffer.from('000001000001000000000000', 'hex'), Buffer.from([5, 97])]), 'formerr:truncated label'],
    ['no type', Buffer.concat([Buffer.from('000001000001000000000000', 'hex'), Buffer.from([1, 97, 0, 0])]), 'formerr:truncated question type/class'],
    [
      'name > 255',
      Buffer.concat([
        Buffer.from('000001000001000000000000', 'hex'),
        ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([60]), Buffer.alloc(60, 97)])),
        Buffer.from([0, 0, 16, 0, 1]),
      ]),
      'formerr:name longer than 255 bytes',
    ],
    [
      'two OPT',
      (() => {
        const b = buildQuery('a.z', 'TXT', { edns: 1232 });
        b.writeUInt16BE(2, 10);
        return Buffer.concat([b, b.subarray(b.length - 11)]);
      })(),
      'formerr:more than one OPT record',
    ],
    [
      'truncated OPT',
      (() => {
        const b = buildQuery('a.z', 'TXT', { edns: 1232 });
        return b.subarray(0, b.length - 3);
      })(),
      'formerr:truncated resource record',
    ],
  ])('%s', (_name, packet, expected) => expect(reason(packet)).toBe(expected));
});
