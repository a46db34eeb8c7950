/**
 * Whether the UDP addon may answer a repeat without the chain is declared by each link and derived from the links
 * a configuration builds, so a link that decides per query turns the cache off without anyone remembering to.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/common/log.js';
import type { KeyReader } from '../../../src/redis/reader.js';
import { answerCacheFor, type CacheRule, type Link } from '../../../src/rkvdns/chain.js';
import { buildSettings } from '../../../src/rkvdns/settings.js';
import { buildRequestPath } from '../../../src/rkvdns/setup.js';

const link = (cache: CacheRule): Link => ({ name: cache, cache, run: (qc, next) => next(qc) });

describe('answerCacheFor', () => {
  it.each([
    [[], 'shared'],
    [['bytes'], 'shared'],
    [['bytes', 'client'], 'per-client'],
    [['client', 'bytes', 'query'], 'off'],
    [['query'], 'off'],
  ] as [CacheRule[], string][])('links deciding by %j: %s', (rules, mode) => {
    expect(answerCacheFor(rules.map(link))).toBe(mode);
  });
});

describe('the answer cache a configuration gets', () => {
  // No query runs: the reader is never called.
  const reader = {} as KeyReader;
  const log = createLogger('silent', 'test');
  const modeWith = (settings: Record<string, unknown>) => buildRequestPath(buildSettings({ ZONE: 'z.example', ...settings }), reader, log).answerCache;

  it.each([
    [{}, 'shared'],
    [{ ALLOW_QUERY: '127.0.0.0/8' }, 'per-client'],
    [{ RRL_RESPONSES_PER_SECOND: 5 }, 'off'],
    [{ DEBOUNCE: true }, 'off'],
    [{ CONTROL_KEY: 'rkvdns_control' }, 'off'],
    [{ ALLOW_QUERY: '127.0.0.0/8', DEBOUNCE: true }, 'off'],
    [{ UDP_ANSWER_CACHE: false }, 'off'],
  ])('%j: %s', (settings, mode) => {
    expect(modeWith(settings)).toBe(mode);
  });
});
