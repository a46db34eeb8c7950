/**
 * Leveled logger: one line per event to stderr, as text (the default) or as one JSON object per line (pino) for
 * log pipelines, with the fields that matter (query name, client, rcode, cause) beside the message. Disabled
 * levels are no-ops (cheap on hot paths).
 */
import { createRequire } from 'node:module';
import type { pino as Pino } from 'pino';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Facts about the event, kept as fields in JSON and left to the message in text. */
export type LogFields = Record<string, string | number | boolean>;
export type LogFn = (msg: string, fields?: LogFields) => void;

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  readonly level: LogLevel;
}

const noop = (): void => {};

export function createLogger(level: LogLevel, name: string, sink: (line: string) => void = (l) => process.stderr.write(l), format: LogFormat = 'text'): Logger {
  if (format === 'json') return jsonLogger(level, name, sink);
  const rank = LOG_LEVELS.indexOf(level);
  const make = (lvl: LogLevel): LogFn =>
    LOG_LEVELS.indexOf(lvl) >= rank ? (msg) => sink(`${new Date().toISOString()} ${lvl.toUpperCase()} ${name}: ${msg}\n`) : noop;
  return { debug: make('debug'), info: make('info'), warn: make('warn'), error: make('error'), level };
}

/** `{"level":"warn","time":"…","pid":…,"hostname":"…","name":"rkvdns","query":"…","msg":"…"}`, written synchronously. */
function jsonLogger(level: LogLevel, name: string, sink: (line: string) => void): Logger {
  // Loaded only for JSON: it adds about 45 ms to every start-up that logs text.
  const pino = createRequire(import.meta.url)('pino') as typeof Pino;
  const p = pino(
    { name, level, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    { write: (line: string) => sink(line) },
  );
  const make = (lvl: Exclude<LogLevel, 'silent'>): LogFn => (p.isLevelEnabled(lvl) ? (msg, fields) => p[lvl](fields ?? {}, msg) : noop);
  return { debug: make('debug'), info: make('info'), warn: make('warn'), error: make('error'), level };
}

/**
 * Caps a per-event log to `perSecond` lines a second, so hostile traffic cannot flood the log; lines left
 * out are counted and reported with the next line that gets through.
 */
export function rateLimited(write: LogFn, perSecond: number, now: () => number = Date.now): LogFn {
  let windowStart = 0;
  let used = 0;
  let suppressed = 0;
  return (msg, fields) => {
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
    write(suppressed > 0 ? `${msg} (${suppressed} similar line(s) suppressed)` : msg, suppressed > 0 ? { ...fields, suppressed } : fields);
    suppressed = 0;
  };
}
