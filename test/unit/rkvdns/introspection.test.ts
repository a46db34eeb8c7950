import { describe, expect, it } from 'vitest';
import { configLines, configValue, presentRedis } from '../../../src/rkvdns/introspection.js';
import { buildSettings } from '../../../src/rkvdns/settings.js';

describe('config.<zone> values: no credential, no colon', () => {
  it.each([
    ['redis://127.0.0.1:6379', '127.0.0.1 port 6379 db 0'],
    ['redis://reader:s3cret@10.0.0.5:6380/3', '10.0.0.5 port 6380 db 3'],
    ['rediss://:s3cret@redis.example:6390', 'redis.example port 6390 db 0 tls'],
    ['redis://[2001:db8::7]:6379/1', '2001-db8--7 port 6379 db 1'],
    ['redis+cluster://u:s3cret@10.0.0.1:7000,[::1]:7001', 'cluster 10.0.0.1 port 7000, --1 port 7001'],
  ])('REDIS_SERVER %s is shown as %s', (url, shown) => {
    expect(presentRedis(url)).toBe(shown);
  });

  it('addresses, host:port and other text', () => {
    const s = buildSettings({
      ZONE: 'z.example',
      INTERFACE: '::',
      METRICS: '[::1]:9153',
      RRL_EXEMPT: '2001:db8::/48',
      INTROSPECTION: '10.0.0.0/8,fd00::/8',
      EXPOSE_KEYS: 'a:* b',
    });
    expect(configValue('INTERFACE', s)).toBe('--');
    expect(configValue('METRICS', s)).toBe('--1 port 9153');
    expect(configValue('RRL_EXEMPT', s)).toBe('2001-db8--/48');
    expect(configValue('INTROSPECTION', s)).toBe('10.0.0.0/8,fd00--/8');
    expect(configValue('EXPOSE_KEYS', s)).toBe('a\\x3a* b');
    for (const line of configLines(s)) expect(line.split(':')).toHaveLength(2);
  });
});
