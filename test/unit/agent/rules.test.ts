import { describe, expect, it } from 'vitest';
import { buildAgentConfig } from '../../../src/agent/config.js';
import { compileRule, keyFor } from '../../../src/agent/rules.js';

const LINE = '10.0.0.224 - - [18/May/2025:05:41:49 +0000] "GET /Index.HTML;x=1 HTTP/1.1" 200 1234 "-" "curl"';

describe('rules', () => {
  it('the sample web_client rule joins address and status', () => {
    const r = compileRule(
      {
        prefix: 'web_client',
        source: 'sophia',
        port: 1,
        ttl: 3600,
        buckets: 4,
        matchex: '^(\\S+) \\S+ \\S+ \\[[^\\]]*\\] "[^"]*" (\\d{3}) ',
        matched: '{1},{2}',
      },
      0,
    );
    expect(keyFor(r, r.regex.exec(LINE)!, 1747546800)).toEqual({ key: 'web_client;10.0.0.224,200;sophia;1747546800' });
  });

  it('declarative post-processing: cut_at, lowercase, truncate', () => {
    const r = compileRule({ prefix: 'web_page', source: 's', port: 1, ttl: 60, matchex: '"[A-Z]+ ([^ "?]+)', cut_at: ';', lowercase: true, truncate: 6 }, 0);
    expect(keyFor(r, r.regex.exec(LINE)!, 0)).toEqual({ key: 'web_page;/index;s;0' });
  });

  it('named groups and substitutions fill the key pattern; postproc null ignores the line', () => {
    const r = compileRule(
      { prefix: 'p', port: 1, ttl: 60, matchex: '" (?<status>\\d{3}) ', keypattern: '<prefix>;<status>;<site>;<start_ts>', substitutions: { site: 'eu' } },
      0,
    );
    expect(keyFor(r, r.regex.exec(LINE)!, 5)).toEqual({ key: 'p;200;eu;5' });
    const pp = compileRule({ prefix: 'p', port: 1, ttl: 60, matchex: '" (\\d{3}) ', postproc: (m) => (m[1] === '200' ? null : { matched: m[1] }) }, 0);
    expect(keyFor(pp, pp.regex.exec(LINE)!, 5)).toEqual({ ignored: true });
  });

  it('shortens matched so the whole key fits one 63-byte DNS label', () => {
    const r = compileRule({ prefix: 'web_page', source: 'sophia', port: 1, ttl: 60, matchex: '(.*)' }, 0);
    const k = keyFor(r, r.regex.exec('x'.repeat(200))!, 1747546800);
    expect('key' in k && k.key.length).toBe(63);
    expect('key' in k && k.key.endsWith(';sophia;1747546800')).toBe(true);
  });

  it.each([
    [{ port: 1, ttl: 60, matchex: '(' }, /rule r: bad matchex/],
    [{ port: 1, ttl: 60, matchex: 'x', keypattern: '<a' }, /rule r: bad keypattern '<a': unbalanced '<'/],
    [{ ttl: 60, matchex: 'x' }, /rule r: no port/],
    [{ port: 1, ttl: 60, matchex: 'x', colour: 'red' }, /rule r: unknown field 'colour'/],
    [{ port: 1, matchex: 'x' }, /rule r: ttl must be a whole number of seconds above 0/],
    [{ port: 1, matchex: 'x', ttl: '1 week' }, /rule r: ttl must be a whole number of seconds above 0 .*got 1 week/],
    [{ port: 1, ttl: 60, buckets: 61, matchex: 'x' }, /rule r: buckets must be/],
    [{ port: 1, ttl: 60, matchex: 'x', bucket_alignment: 'sideways' }, /bucket_alignment must be/],
    [{ port: 1, ttl: 60, matchex: 'x', keypattern: '<prefix>;<nothing>' }, /keypattern needs <nothing> but nothing provides it/],
    [{ port: 1, ttl: 60, matchex: 'x', matched: 'plain' }, /matched template 'plain' refers to no capture group/],
  ])('%j is rejected naming the rule', (spec, message) => {
    expect(() => compileRule({ name: 'r', prefix: 'p', ...spec } as never, 0)).toThrow(message);
  });

  it('defaults are inherited and rule fields win', () => {
    const cfg = buildAgentConfig({
      defaults: { port: 9, ttl: 60, prefix: 'd' },
      rules: [
        { name: 'a', matchex: 'x' },
        { name: 'b', matchex: 'y', port: 10 },
      ],
    });
    expect(cfg.rules.map((r) => [r.name, r.port, r.fixed.prefix])).toEqual([
      ['a', 9, 'd'],
      ['b', 10, 'd'],
    ]);
  });
});
