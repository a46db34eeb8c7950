import { describe, expect, it } from 'vitest';
import { createLogger, rateLimited } from '../../../src/common/log.js';

describe('rateLimited', () => {
  it('lets through N lines a second and reports how many it left out with the next one', () => {
    let t = 0;
    const out: string[] = [];
    const log = rateLimited(
      (m) => out.push(m),
      2,
      () => t,
    );
    for (let i = 0; i < 5; i++) log(`line ${i}`);
    expect(out).toEqual(['line 0', 'line 1']);
    t = 1000;
    log('line 5');
    log('line 6');
    expect(out).toEqual(['line 0', 'line 1', 'line 5 (3 similar line(s) suppressed)', 'line 6']);
  });
});

describe('createLogger', () => {
  const lines = (format: 'text' | 'json', level: 'debug' | 'info' | 'warn' = 'info') => {
    const out: string[] = [];
    const log = createLogger(level, 'rkvdns', (l) => out.push(l), format);
    return { log, out };
  };

  it('text: one line per event, time, level, name and message; fields stay out', () => {
    const { log, out } = lines('text');
    log.debug('hidden');
    log.warn('k.frob from 127.0.0.1#5353: unknown operator', { query: 'k.frob', client: '127.0.0.1#5353' });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z WARN rkvdns: k\.frob from 127\.0\.0\.1#5353: unknown operator\n$/);
  });

  it('json: one object per line with level, time, name, msg and the fields', () => {
    const { log, out } = lines('json');
    log.debug('hidden');
    log.info('started');
    log.warn('k.frob from 127.0.0.1#5353: unknown operator', { query: 'k.frob', client: '127.0.0.1#5353', rcode: 'FORMERR', cause: 'operand' });
    expect(out).toHaveLength(2);
    const [started, warned] = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(started).toMatchObject({ level: 'info', name: 'rkvdns', msg: 'started' });
    expect(warned).toMatchObject({
      level: 'warn',
      msg: 'k.frob from 127.0.0.1#5353: unknown operator',
      query: 'k.frob',
      client: '127.0.0.1#5353',
      rcode: 'FORMERR',
      cause: 'operand',
    });
    expect(new Date(warned!.time as string).getTime()).toBeGreaterThan(0);
  });

  it('rate limiting keeps the fields, and says how many lines it left out', () => {
    const { log, out } = lines('json');
    let t = 0;
    const limited = rateLimited(log.info, 1, () => t);
    limited('a', { query: 'x' });
    limited('b', { query: 'y' });
    t = 1000;
    limited('c', { query: 'z' });
    expect(out.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([
      { msg: 'a', query: 'x' },
      { msg: 'c (1 similar line(s) suppressed)', query: 'z', suppressed: 1 },
    ]);
  });
});
