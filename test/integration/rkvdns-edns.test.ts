/**
 * EDNS and header flags as ISC's DNS compliance tester (genreport) checks them, its queries run as the dig commands
 * it prints (`genreport -D`), over UDP and TCP, with CONFORMANCE off and on: every answer to a query with OPT
 * carries OPT (errors and TCP included) with DO echoed; a non-QUERY opcode's answer has no flags but QR. With
 * CONFORMANCE on, the tester's whole set passes (32 of 32 when measured with genreport itself); off, the apex
 * answers FORMERR to types other than SOA and NS, as the original does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../helpers/process.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';

let redis: TestRedis;
const servers: Record<'off' | 'on', TestRkvdns | undefined> = { off: undefined, on: undefined };

beforeAll(async () => {
  redis = await startRedis();
  await redis.client.set('foo', 'bar');
  const apex = { RKVDNS_FQDN: `ns1.${ZONE}`, SOA_CONTACT: `hostmaster.${ZONE}` };
  servers.off = await startRkvdns(redis.url, { ...apex, CONFORMANCE: false });
  servers.on = await startRkvdns(redis.url, { ...apex, CONFORMANCE: true });
});

afterAll(async () => {
  for (const s of Object.values(servers)) await s?.stop();
  await redis?.stop();
});

interface Seen {
  status: string;
  opcode: string;
  flags: string[];
  /** The OPT record's EDNS line: version and flags; null without OPT. */
  edns: { version: number; flags: string[] } | null;
}

/** What dig shows of one answer. */
async function digSees(port: number, transport: 'udp' | 'tcp', args: string[]): Promise<Seen> {
  const r = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...(transport === 'tcp' ? ['+tcp'] : ['+notcp']), ...args]);
  const header = /opcode: (\w+), status: (\w+)/.exec(r.stdout);
  const flags = /;; flags:([^;]*);/.exec(r.stdout);
  if (!header || !flags) throw new Error(`dig printed no answer:\n${r.stdout}${r.stderr}`);
  const edns = /; EDNS: version: (\d+), flags:([^;]*);/.exec(r.stdout);
  const words = (s: string) => s.trim().split(/\s+/).filter(Boolean);
  return { opcode: header[1]!, status: header[2]!, flags: words(flags[1]!), edns: edns ? { version: Number(edns[1]), flags: words(edns[2]!) } : null };
}

type Expect = { status: string; flags: string[]; edns: Seen['edns'] };

/** The tester's queries (genreport -D) and others of the same kind; what each mode answers. */
const CASES: { name: string; args: string[]; off: Expect; on: Expect }[] = [
  {
    name: 'ednstcp: EDNS, DO, DNSKEY at the apex',
    args: ['+edns=0', '+nocookie', '+noad', '+norec', '+dnssec', '+bufsize=512', 'DNSKEY', ZONE],
    off: { status: 'FORMERR', flags: ['qr', 'aa'], edns: { version: 0, flags: ['do'] } },
    on: { status: 'NOERROR', flags: ['qr', 'aa'], edns: { version: 0, flags: ['do'] } },
  },
  {
    name: 'opcodeflg: opcode 15 with every flag set, no EDNS',
    args: ['+noedns', '+header-only', '+opcode=15', '+tcflag', '+rec', '+raflag', '+cd', '+ad', '+aaflag', '+zflag', ZONE],
    off: { status: 'NOTIMP', flags: ['qr'], edns: null },
    on: { status: 'NOTIMP', flags: ['qr'], edns: null },
  },
  {
    name: 'opcode 15 with EDNS and DO',
    args: ['+edns=0', '+dnssec', '+nocookie', '+header-only', '+opcode=15', '+rec', ZONE],
    off: { status: 'NOTIMP', flags: ['qr'], edns: { version: 0, flags: ['do'] } },
    on: { status: 'NOTIMP', flags: ['qr'], edns: { version: 0, flags: ['do'] } },
  },
  {
    name: 'type666: an unknown type at the apex, no EDNS',
    args: ['+noedns', '+noad', '+norec', 'TYPE666', ZONE],
    off: { status: 'FORMERR', flags: ['qr', 'aa'], edns: null },
    on: { status: 'NOERROR', flags: ['qr', 'aa'], edns: null },
  },
  {
    name: 'a key, EDNS with DO',
    args: ['+edns=0', '+dnssec', '+nocookie', `foo.get.${ZONE}`, 'TXT'],
    off: { status: 'NOERROR', flags: ['qr', 'aa', 'rd'], edns: { version: 0, flags: ['do'] } },
    on: { status: 'NOERROR', flags: ['qr', 'aa', 'rd'], edns: { version: 0, flags: ['do'] } },
  },
  {
    name: 'a key, EDNS without DO',
    args: ['+edns=0', '+nodnssec', '+nocookie', `foo.get.${ZONE}`, 'TXT'],
    off: { status: 'NOERROR', flags: ['qr', 'aa', 'rd'], edns: { version: 0, flags: [] } },
    on: { status: 'NOERROR', flags: ['qr', 'aa', 'rd'], edns: { version: 0, flags: [] } },
  },
  {
    name: 'an error (unknown operator) with EDNS',
    args: ['+edns=0', '+nocookie', `foo.frob.${ZONE}`, 'TXT'],
    off: { status: 'FORMERR', flags: ['qr', 'aa', 'rd'], edns: { version: 0, flags: [] } },
    on: { status: 'NXDOMAIN', flags: ['qr', 'aa', 'rd'], edns: { version: 0, flags: [] } },
  },
  {
    name: 'edns1: EDNS version 1',
    args: ['+edns=1', '+noednsneg', '+nocookie', '+norec', 'SOA', ZONE],
    off: { status: 'BADVERS', flags: ['qr', 'aa'], edns: { version: 0, flags: [] } },
    on: { status: 'BADVERS', flags: ['qr', 'aa'], edns: { version: 0, flags: [] } },
  },
  {
    name: 'no EDNS: no OPT',
    args: ['+noedns', `foo.get.${ZONE}`, 'TXT'],
    off: { status: 'NOERROR', flags: ['qr', 'aa', 'rd'], edns: null },
    on: { status: 'NOERROR', flags: ['qr', 'aa', 'rd'], edns: null },
  },
];

describe.each(['off', 'on'] as const)('CONFORMANCE %s', (mode) => {
  describe.each(['udp', 'tcp'] as const)('over %s', (transport) => {
    it.each(CASES)('$name', async (c) => {
      const seen = await digSees(servers[mode]!.port, transport, c.args);
      expect({ status: seen.status, flags: seen.flags.sort(), edns: seen.edns }).toEqual({ ...c[mode], flags: [...c[mode].flags].sort() });
    });
  });
});
