/**
 * A Redis client library's error messages in plain words, for logs, /readyz and error TXT answers: what happened
 * to the connection, not how the library is configured inside. Redis's own replies (WRONGTYPE, NOPERM, ...) keep
 * their code, which is what an operator searches for.
 */

const PLAIN: [RegExp, (m: RegExpExecArray) => string][] = [
  [/^Stream isn't writeable and enableOfflineQueue options is false$/, () => 'not connected to Redis (reconnecting)'],
  [/^Cluster isn't ready and enableOfflineQueue options is false$/, () => 'the cluster is not connected (reconnecting)'],
  [/^Connection is closed\.?$/, () => 'the connection to Redis is closed'],
  // node:net's words for a connection the server ended or reset.
  [/^(This socket has been ended by the other party|write EPIPE)$/, () => 'Redis closed the connection'],
  [/^read ECONNRESET$/, () => 'Redis reset the connection'],
  [/^Command timed out$/, () => 'Redis did not reply in time'],
  [/^connect ECONNREFUSED (\S+)$/, (m) => `Redis refused the connection at ${m[1]} (not running there?)`],
  [/^connect ETIMEDOUT( \S+)?$/, (m) => `connecting to Redis${m[1] ?? ''} timed out`],
  [/^getaddrinfo ENOTFOUND (\S+)$/, (m) => `the Redis host ${m[1]} is not known (DNS)`],
  [/^None of startup nodes is available$/, () => 'no cluster node answers'],
  [/^All sentinels are unreachable\./, () => 'no sentinel answers (are they running at those addresses?); still trying'],
  [/^Cluster is disconnect(ed|ing)\.$/, () => 'the cluster is disconnected'],
  [/^WRONGPASS (.*)$/, () => 'Redis refused the user name or password (WRONGPASS)'],
  [/^NOAUTH (.*)$/, () => 'Redis wants a password and none was given (NOAUTH)'],
];

export function plainRedisError(message: string): string {
  for (const [re, say] of PLAIN) {
    const m = re.exec(message);
    if (m) return say(m);
  }
  return message;
}
