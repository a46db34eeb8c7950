/**
 * What kind of value a setting holds, and how a value from YAML, the command line or the CONTROL_KEY hash is read
 * into it: the one place the forms operators write (`True`, `None`, `42`, `5m`, `10.0.0.0/8`) are understood.
 */
import { normalizeCidrs } from '../common/cidr.js';
import { DURATION_HINT, parseDuration } from '../common/duration.js';
import { optionalHostPort } from '../common/hostport.js';
import { splitGlobs } from '../redis/exposed.js';
import { parseRedisTarget } from '../redis/target.js';

export class SettingsError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`setting ${setting}: ${problem}`);
    this.name = 'SettingsError';
  }
}

export type Kind =
  | { t: 'int'; min: number; max: number }
  | { t: 'seconds'; min: number; max: number }
  | { t: 'bool' }
  | { t: 'name'; nullable: boolean }
  | { t: 'text' }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'cidrs' }
  | { t: 'access' }
  | { t: 'hostport' }
  | { t: 'globs' }
  | { t: 'redis' };

const NAME_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/;

/** A value as config.<zone> and --help show it: True, False, None, or the value. */
export function presentValue(v: string | number | boolean | null): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return String(v);
}

/** Reads `raw` as a value of `kind` for the setting `name`; a SettingsError says what is allowed. */
export function coerceKind(name: string, kind: Kind, raw: unknown): unknown {
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (kind.t) {
    case 'int': {
      const n = typeof text === 'number' ? text : typeof text === 'string' && /^-?\d+$/.test(text) ? Number(text) : NaN;
      if (!Number.isInteger(n) || n < kind.min || n > kind.max)
        throw new SettingsError(name, `expected an integer from ${kind.min} to ${kind.max}, got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'seconds': {
      const n = parseDuration(text);
      if (n === null || !Number.isInteger(n) || n < kind.min || n > kind.max)
        throw new SettingsError(name, `expected whole seconds from ${kind.min} to ${kind.max} (${DURATION_HINT}), got ${JSON.stringify(raw)}`);
      return n;
    }
    case 'bool': {
      if (typeof text === 'boolean') return text;
      if (typeof text === 'string' && /^(true|yes|on|1)$/i.test(text)) return true;
      if (typeof text === 'string' && /^(false|no|off|0|none)$/i.test(text)) return false;
      if (text === null) return false;
      throw new SettingsError(name, `expected True or False, got ${JSON.stringify(raw)}`);
    }
    case 'name': {
      if (text === null || text === undefined || (typeof text === 'string' && /^(none|null|)$/i.test(text))) {
        if (kind.nullable) return null;
        throw new SettingsError(name, 'is required');
      }
      if (typeof text !== 'string' || !NAME_RE.test(text))
        throw new SettingsError(name, `expected a dotted name such as example.com, got ${JSON.stringify(raw)}`);
      return text.replace(/\.$/, '').toLowerCase();
    }
    case 'cidrs': {
      const list = Array.isArray(text) ? text.map(String).join(',') : text;
      if (list === null || list === undefined || (typeof list === 'string' && /^(none|null)$/i.test(list))) return null;
      if (typeof list !== 'string') throw new SettingsError(name, `expected a list of addresses or address/prefix, got ${JSON.stringify(raw)}`);
      const canonical = normalizeCidrs(list);
      if (typeof canonical !== 'string') throw new SettingsError(name, canonical.error);
      return canonical;
    }
    case 'access': {
      if (typeof text === 'boolean') return text;
      if (typeof text === 'string' && /^(true|yes|on|false|no|off|none)$/i.test(text)) return /^(true|yes|on)$/i.test(text);
      const list = Array.isArray(text) ? text.map(String).join(',') : text;
      const canonical = typeof list === 'string' ? normalizeCidrs(list) : { error: `expected True, False or client networks, got ${JSON.stringify(raw)}` };
      if (typeof canonical !== 'string') throw new SettingsError(name, canonical.error);
      return canonical;
    }
    case 'globs': {
      // A YAML list, or text separated by whitespace; a space inside one glob is written `\ `.
      const list = Array.isArray(text) ? text.map((g) => String(g).replace(/(?<!\\)\s/g, '\\ ')).join(' ') : text;
      if (list === null || list === undefined || (typeof list === 'string' && /^(none|null)$/i.test(list))) return null;
      const globs = typeof list === 'string' ? splitGlobs(list) : [];
      if (globs.length === 0) throw new SettingsError(name, `expected key globs such as 'web_*', got ${JSON.stringify(raw)}`);
      return globs.join(' ');
    }
    case 'hostport': {
      const at = optionalHostPort(text);
      if (at !== null && typeof at !== 'string') throw new SettingsError(name, at.error);
      return at;
    }
    case 'redis': {
      if (typeof text !== 'string' || text.length === 0) throw new SettingsError(name, `expected a Redis URL, got ${JSON.stringify(raw)}`);
      try {
        parseRedisTarget(text, name);
      } catch (e) {
        // parseRedisTarget's message names the setting already, and shows the URL without its password.
        throw new SettingsError(name, (e as Error).message.replace(`${name} `, ''));
      }
      return text;
    }
    case 'text':
      if (typeof text !== 'string' || text.length === 0) throw new SettingsError(name, `expected text, got ${JSON.stringify(raw)}`);
      return text;
    case 'enum': {
      const v = typeof text === 'string' ? text.toLowerCase() : text;
      if (typeof v !== 'string' || !kind.values.includes(v))
        throw new SettingsError(name, `expected one of ${kind.values.join(', ')}, got ${JSON.stringify(raw)}`);
      return v;
    }
  }
}
