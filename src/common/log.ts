/** Leveled logger writing one line per event to stderr. Disabled levels are no-ops (cheap on hot paths). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  readonly level: LogLevel;
}

const noop = (): void => {};

export function createLogger(level: LogLevel, name: string, sink: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const rank = LOG_LEVELS.indexOf(level);
  const make = (lvl: LogLevel) =>
    LOG_LEVELS.indexOf(lvl) >= rank ? (msg: string) => sink(`${new Date().toISOString()} ${lvl.toUpperCase()} ${name}: ${msg}\n`) : noop;
  return { debug: make('debug'), info: make('info'), warn: make('warn'), error: make('error'), level };
}

export function isLogLevel(v: string): v is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

/**
 * Caps a per-event log to `perSecond` lines a second, so hostile traffic cannot flood the log; lines left
 * out are counted and reported with the next line that gets through.
 */
export function rateLimited(write: (msg: string) => void, perSecond: number, now: () => number = Date.now): (msg: string) => void {
  let windowStart = 0;
  let used = 0;
  let suppressed = 0;
  return (msg) => {
    const t = now();
    if (t - windowStart >= 1000) {
      windowStart = t;
      used = 0;
    }
    if (used >= perSecond) {
      suppressed++;
      return;
    }
    used++;
    write(suppressed > 0 ? `${msg} (${suppressed} similar line(s) suppressed)` : msg);
    suppressed = 0;
  };
}
