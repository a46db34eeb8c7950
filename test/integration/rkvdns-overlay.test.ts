/**
 * The CONTROL_KEY overlay, one test per setting the specification lists for it: each field set in the hash
 * changes the answers (or the connection) of the queries that follow, and only while it is set.
 */
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ask, buildQuery, sendUdp, txt } from '../helpers/dns.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startRkvdns, ZONE, type TestRkvdns } from '../helpers/rkvdns.js';

let redis: TestRedis;
let server: TestRkvdns;

beforeAll(async () => {
  redis = await startRedis();
  // 40 values of 50 bytes: about 2,400 bytes as one answer.
  await redis.client.rpush('list', ...Array.from({ length: 40 }, (_, i) => `${String(i).padStart(2, '0')}${'v'.repeat(48)}`));
  await redis.client.set('long', 'x'.repeat(40));
  await redis.client.set('addr', '1.2.3.4');
  await redis.client.set('mixed', 'folded');
  await redis.client.set('ttl;long', '1', 'EX', 1000);
  await redis.client.set('ttl;none', '1');
  server = await startRkvdns(redis.url, { RKVDNS_FQDN: 'ns.rkvdns.test', SOA_CONTACT: 'hm.rkvdns.test', CONTROL_KEY: 'ctl' });
});

afterEach(async () => {
  await redis.client.del('ctl');
});

afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

const overlay = (fields: Record<string, string>) => redis.client.hset('ctl', fields);
const q = (name: string, type = 'TXT', o: Parameters<typeof ask>[3] = {}) => ask(server.port, name ? `${name}.${ZONE}` : ZONE, type, o);

/** Seconds until the server closes a TCP connection that sent only part of a query. */
async function secondsUntilClosed(): Promise<number> {
  const sock = net.connect(server.port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const t0 = performance.now();
  sock.write(Buffer.from([0, 40, 1, 2, 3]));
  await new Promise((r) => sock.once('close', r));
  return (performance.now() - t0) / 1000;
}

describe('the CONTROL_KEY overlay', () => {
  it('max_udp_payload caps UDP answers for the queries that follow', async () => {
    const before = await q('list.llen', 'TXT');
    expect(txt(before)).toEqual([['40']]);
    const wide = await q(':.list.lrange', 'TXT', { edns: 4096 });
    expect(wide.raw.length).toBeGreaterThan(1000);
    await overlay({ max_udp_payload: '600' });
    const narrow = await q(':.list.lrange', 'TXT', { edns: 4096 });
    expect(narrow.raw.length).toBeLessThanOrEqual(600);
    expect(narrow.flag_tc).toBe(true);
  });

  it('max_tcp_payload refuses a TCP answer over it', async () => {
    expect((await q(':.list.lrange', 'TXT', { tcp: true })).rcode).toBe('NOERROR');
    await overlay({ max_tcp_payload: '1000' });
    expect((await q(':.list.lrange', 'TXT', { tcp: true })).rcode).toBe('SERVFAIL');
  });

  it('return_partial_tcp sends the records that fit instead', async () => {
    await overlay({ max_tcp_payload: '1000', return_partial_tcp: 'True' });
    const d = await q(':.list.lrange', 'TXT', { tcp: true });
    expect(d.rcode).toBe('NOERROR');
    expect(d.raw.length).toBeLessThanOrEqual(1000);
    expect(txt(d).length).toBeGreaterThan(0);
    expect(txt(d).length).toBeLessThan(40);
  });

  it('max_value_payload leaves out longer values', async () => {
    expect(txt(await q('long.get'))).toEqual([['x'.repeat(40)]]);
    await overlay({ max_value_payload: '10' });
    const d = await q('long.get');
    expect(d.rcode).toBe('NOERROR');
    expect(txt(d)).toEqual([]);
  });

  it('return_partial_value cuts them instead', async () => {
    await overlay({ max_value_payload: '10', return_partial_value: 'True' });
    expect(txt(await q('long.get'))).toEqual([['x'.repeat(10)]]);
  });

  it('tcp_timeout closes a connection that never completes a query: 3 s, then 8 s', async () => {
    await overlay({ tcp_timeout: '3' });
    // Not before the timeout; after it by no more than a loaded machine's lag.
    const three = await secondsUntilClosed();
    expect(three).toBeGreaterThan(2.5);
    expect(three).toBeLessThan(6.5);
    await overlay({ tcp_timeout: '8' });
    const eight = await secondsUntilClosed();
    expect(eight).toBeGreaterThanOrEqual(7.5);
    expect(eight).toBeLessThanOrEqual(11.5);
  }, 20_000);

  it('all_queries_as_txt answers an A query with TXT', async () => {
    expect((await q('addr.get', 'A')).answers?.[0]?.type).toBe('A');
    await overlay({ all_queries_as_txt: 'True' });
    const d = await q('addr.get', 'A');
    expect(d.answers?.[0]?.type).toBe('TXT');
    expect(txt(d)).toEqual([['1.2.3.4']]);
  });

  it('case_folding changes how the key is folded (configured: lower)', async () => {
    expect(txt(await q('MiXeD.get'))).toEqual([['folded']]);
    await overlay({ case_folding: 'none' });
    expect((await q('MiXeD.get')).rcode).toBe('NXDOMAIN');
    await overlay({ case_folding: 'upper' });
    await redis.client.set('MIXED', 'upper');
    expect(txt(await q('MiXeD.get'))).toEqual([['upper']]);
  });

  it('max_ttl, default_ttl and min_ttl clamp the TTLs', async () => {
    await overlay({ max_ttl: '60' });
    expect((await q('ttl\\;long.get')).answers?.[0]?.ttl).toBe(60);
    await overlay({ default_ttl: '17' });
    expect((await q('ttl\\;none.get')).answers?.[0]?.ttl).toBe(17);
    await redis.client.set('ttl;short', '1', 'EX', 3);
    await overlay({ min_ttl: '20' });
    expect((await q('ttl\\;short.get')).answers?.[0]?.ttl).toBe(20);
  });

  it('conformance answers a name outside the zone NOERROR, empty', async () => {
    expect((await ask(server.port, 'k.get.other.test', 'TXT')).rcode).toBe('NXDOMAIN');
    await overlay({ conformance: 'True' });
    const d = await ask(server.port, 'k.get.other.test', 'TXT');
    expect(d.rcode).toBe('NOERROR');
    expect(d.authorities ?? []).toEqual([]);
  });

  it('rkvdns_fqdn and soa_contact change the NS and SOA records', async () => {
    await overlay({ rkvdns_fqdn: 'ns9.rkvdns.test', soa_contact: 'admin.rkvdns.test' });
    expect((await q('', 'NS')).answers?.[0]?.data).toBe('ns9.rkvdns.test');
    expect((await q('', 'SOA')).answers?.[0]?.data).toMatchObject({ mname: 'ns9.rkvdns.test', rname: 'admin.rkvdns.test' });
    await overlay({ rkvdns_fqdn: 'None' });
    expect((await q('', 'NS')).rcode).toBe('SERVFAIL');
  });

  it('enable_error_txt answers errors with the error CNAME and TXT', async () => {
    expect((await q('nokey.get')).rcode).toBe('NXDOMAIN');
    await overlay({ enable_error_txt: 'True' });
    const d = await q('nokey.get');
    expect(d.rcode).toBe('NOERROR');
    expect(d.answers?.map((a) => a.type)).toEqual(['CNAME', 'TXT']);
    expect(String((d.answers?.[1]?.data as Buffer[])[0])).toBe('Key or zone not found.');
  });

  it('debounce drops a repeat from the same client', async () => {
    await overlay({ debounce: 'True' });
    const query = buildQuery(`addr.get.${ZONE}`, 'TXT');
    expect(await sendUdp(server.port, query)).not.toBeNull();
    expect(await sendUdp(server.port, query, 500)).toBeNull();
  });

  it('nxdomain_for_servfail answers a too-large TCP answer NXDOMAIN', async () => {
    await overlay({ max_tcp_payload: '1000', nxdomain_for_servfail: 'True' });
    expect((await q(':.list.lrange', 'TXT', { tcp: true })).rcode).toBe('NXDOMAIN');
  });

  it('a field that does not parse is reported and the others still apply', async () => {
    await overlay({ max_ttl: 'lots', default_ttl: '23' });
    expect((await q('ttl\\;none.get')).answers?.[0]?.ttl).toBe(23);
    expect(server.proc.output()).toMatch(/CONTROL_KEY ctl: .*MAX_TTL/);
  });
});
