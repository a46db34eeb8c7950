/**
 * Test-side DNS: builds queries from label Buffers (so labels may hold '.', ';' or any byte), sends them
 * over real UDP/TCP sockets, and decodes answers with dns-packet. Also runs `dig`.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { run } from './process.js';

/** A resource record as dns-packet decodes it (its `Answer` union includes OPT, which has no TTL or data). */
export interface DecodedRecord {
  name: string;
  type: string;
  class?: string;
  ttl?: number;
  data?: unknown;
}

export type Decoded = Omit<dnsPacket.Packet, 'answers' | 'authorities' | 'additionals'> & {
  answers?: DecodedRecord[];
  authorities?: DecodedRecord[];
  additionals?: DecodedRecord[];
  rcode?: string;
  flag_tc?: boolean;
  flag_aa?: boolean;
  flag_ra?: boolean;
};

/** Zone-file presentation form (`a\.b\;c.get.zone`, `\000`) to labels. */
export function labels(name: string): Buffer[] {
  const out: Buffer[] = [];
  let cur: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c === '\\') {
      const dec = /^\d{3}/.exec(name.slice(i + 1));
      if (dec) {
        cur.push(Number(dec[0]));
        i += 3;
      } else cur.push(name.charCodeAt(++i));
    } else if (c === '.') {
      out.push(Buffer.from(cur));
      cur = [];
    } else cur.push(...Buffer.from(c, 'latin1'));
  }
  if (cur.length) out.push(Buffer.from(cur));
  return out;
}

const TYPES: Record<string, number> = { A: 1, NS: 2, SOA: 6, MX: 15, TXT: 16, AAAA: 28, ANY: 255, CNAME: 5, PTR: 12, SRV: 33 };

export interface QueryOptions {
  id?: number;
  edns?: number;
  ednsVersion?: number;
  tcp?: boolean;
  qclass?: number;
  timeoutMs?: number;
  /** The local address to send from: other loopback addresses (127.0.0.2, ...) stand for other clients. */
  from?: string;
  /** The server's address; default 127.0.0.1 (::1 to ask over IPv6). */
  host?: string;
}

export function buildQuery(name: string | Buffer[], type: string | number, o: QueryOptions = {}): Buffer {
  const ls = typeof name === 'string' ? labels(name) : name;
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(o.id ?? Math.floor(Math.random() * 65536), 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(o.edns !== undefined ? 1 : 0, 10);
  parts.push(header);
  for (const l of ls) parts.push(Buffer.from([l.length]), l);
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(typeof type === 'number' ? type : TYPES[type]!, 1);
  tail.writeUInt16BE(o.qclass ?? 1, 3);
  parts.push(tail);
  if (o.edns !== undefined) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(41, 1);
    opt.writeUInt16BE(o.edns, 3);
    opt[6] = o.ednsVersion ?? 0;
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

export function sendUdp(port: number, msg: Buffer, timeoutMs = 3000, host = '127.0.0.1', from?: string): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(null);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    if (from) s.bind(0, from, () => s.send(msg, port, host));
    else s.send(msg, port, host);
  });
}

/** Sends several framed messages on one TCP connection and collects that many answers. */
export function sendTcp(port: number, msgs: Buffer[], timeoutMs = 5000, from?: string, host = '127.0.0.1'): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host, ...(from ? { localAddress: from } : {}) });
    const answers: Buffer[] = [];
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error(`TCP: ${answers.length}/${msgs.length} answers in ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => {
      for (const m of msgs) {
        const f = Buffer.alloc(2 + m.length);
        f.writeUInt16BE(m.length, 0);
        m.copy(f, 2);
        sock.write(f);
      }
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        answers.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (answers.length === msgs.length) {
        clearTimeout(t);
        sock.end();
        resolve(answers);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

export function decode(raw: Buffer): Decoded {
  return dnsPacket.decode(raw);
}

export async function ask(port: number, name: string | Buffer[], type: string | number, o: QueryOptions = {}): Promise<Decoded & { raw: Buffer }> {
  const q = buildQuery(name, type, o);
  const host = o.host ?? '127.0.0.1';
  const raw = o.tcp ? (await sendTcp(port, [q], 5000, o.from, host))[0]! : await sendUdp(port, q, o.timeoutMs, host, o.from);
  if (!raw) throw new Error(`no answer to ${typeof name === 'string' ? name : name.join('.')} ${type}`);
  return Object.assign(decode(raw), { raw });
}

/** TXT answers as arrays of latin1 strings, one array per record. */
export function txt(d: Decoded): string[][] {
  return (d.answers ?? []).filter((a) => a.type === 'TXT').map((a) => (a.data as Buffer[]).map((b) => b.toString('latin1')));
}

export async function dig(port: number, ...args: string[]): Promise<string> {
  const r = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=2', '+tries=1', ...args]);
  return r.stdout;
}
