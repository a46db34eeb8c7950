import { describe, expect, it } from 'vitest';
import { describeTarget, parseRedisTarget, redactedUrl } from '../../../src/redis/target.js';

describe('parseRedisTarget', () => {
  it('one Redis', () => {
    expect(parseRedisTarget('redis://127.0.0.1:6379/2')).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379/2' });
    expect(parseRedisTarget('rediss://u:p@h:6380').kind).toBe('single');
  });

  it('a cluster from seed nodes, with credentials, IPv6 and TLS', () => {
    expect(parseRedisTarget('redis+cluster://reader:s%40cret@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002/')).toEqual({
      kind: 'cluster',
      seeds: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: 'reader',
      password: 's@cret',
      tls: false,
    });
    expect(parseRedisTarget('rediss+cluster://h:7000')).toMatchObject({ tls: true, seeds: [{ host: 'h', port: 7000 }] });
    expect(describeTarget(parseRedisTarget('redis+cluster://:pw@a:1,b:2'))).toBe('cluster a:1,b:2');
  });

  it.each([
    ['http://h:1', /must start with redis:\/\//],
    ['not a url', /is not a URL/],
    ['redis+cluster://h', /cluster node 'h' is not host:port/],
    ['redis+cluster://h:1,h:99999', /cluster node 'h:99999'/],
    ['redis+cluster://', /is not host:port/],
  ])('%s is refused with a hint', (url, message) => {
    expect(() => parseRedisTarget(url)).toThrow(message);
  });

  it('a master watched by Sentinel: the sentinels, the master name, the database, both passwords, never shown', () => {
    const t = parseRedisTarget('redis+sentinel://agent:s%40cret@10.0.0.1:26379,[::1]:26380/totals/2?sentinelPassword=sp');
    expect(t).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      name: 'totals',
      db: 2,
      username: 'agent',
      password: 's@cret',
      sentinelPassword: 'sp',
      tls: false,
    });
    expect(parseRedisTarget('rediss+sentinel://h:1/m')).toMatchObject({ kind: 'sentinel', tls: true, db: 0, name: 'm' });
    expect(describeTarget(t)).toBe('master totals of sentinels 10.0.0.1:26379,::1:26380');
    expect(redactedUrl('redis+sentinel://agent:pw@h:1/m?sentinelPassword=sp')).toBe('redis+sentinel://agent:***@h:1/m?sentinelPassword=***');
  });

  it.each([
    ['redis+sentinel://h:1', /no master name/],
    ['redis+sentinel://h:1/', /no master name/],
    ['redis+sentinel://h/m', /sentinel 'h' is not host:port/],
    ['redis+sentinel://h:1/m/x', /database 'x' is not a number/],
    ['redis+sentinel://h:1/m?password=x', /unknown parameter 'password'/],
  ])('%s is refused with a hint', (url, message) => {
    expect(() => parseRedisTarget(url)).toThrow(message);
  });
});
