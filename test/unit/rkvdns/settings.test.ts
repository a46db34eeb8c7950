import { describe, expect, it } from 'vitest';
import { buildSettings } from '../../../src/rkvdns/settings.js';

describe('list settings', () => {
  it.each([
    [{ EXPOSE_KEYS: 'web_*  dns_*' }, 'EXPOSE_KEYS', 'web_* dns_*'],
    [{ EXPOSE_KEYS: ['web_*', 'key with space*'] }, 'EXPOSE_KEYS', 'web_* key\\ with\\ space*'],
    [{ EXPOSE_KEYS: 'None' }, 'EXPOSE_KEYS', null],
    [{ ALLOW_QUERY: '10.0.0.0/8, ::1' }, 'ALLOW_QUERY', '10.0.0.0/8,::1/128'],
    [{ ALLOW_QUERY: ['192.0.2.0/24', '2001:db8::/32'] }, 'ALLOW_QUERY', '192.0.2.0/24,2001:db8::/32'],
    [{ ALLOW_QUERY: null }, 'ALLOW_QUERY', null],
  ] as const)('%j → %s %j', (layer, name, expected) => {
    expect(buildSettings({ ZONE: 'z.test' }, layer)[name]).toBe(expected);
  });

  it.each([
    [{ EXPOSE_KEYS: '' }, /EXPOSE_KEYS: expected key globs/],
    [{ ALLOW_QUERY: '10.0.0.0/40' }, /ALLOW_QUERY: '10\.0\.0\.0\/40' is not an address/],
    [{ ALLOW_QUERY: '' }, /ALLOW_QUERY: the list is empty/],
  ])('%j is refused, naming the setting', (layer, message) => {
    expect(() => buildSettings({ ZONE: 'z.test' }, layer)).toThrow(message);
  });
});
