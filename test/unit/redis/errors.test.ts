import { describe, expect, it } from 'vitest';
import { plainRedisError } from '../../../src/redis/errors.js';

describe("a client library's Redis errors in plain words", () => {
  it.each([
    ["Stream isn't writeable and enableOfflineQueue options is false", 'not connected to Redis (reconnecting)'],
    ["Cluster isn't ready and enableOfflineQueue options is false", 'the cluster is not connected (reconnecting)'],
    ['Command timed out', 'Redis did not reply in time'],
    ['connect ECONNREFUSED 127.0.0.1:6379', 'Redis refused the connection at 127.0.0.1:6379 (not running there?)'],
    ['This socket has been ended by the other party', 'Redis closed the connection'],
    ['read ECONNRESET', 'Redis reset the connection'],
    ['WRONGPASS invalid username-password pair or user is disabled.', 'Redis refused the user name or password (WRONGPASS)'],
    // Redis's own replies keep their words.
    ['WRONGTYPE Operation against a key holding the wrong kind of value', 'WRONGTYPE Operation against a key holding the wrong kind of value'],
  ])('%s → %s', (raw, plain) => {
    expect(plainRedisError(raw)).toBe(plain);
  });
});
