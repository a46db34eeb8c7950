/**
 * rkvdns settings. Names and meanings follow the upstream RKVDNS configuration so a configuration can be
 * carried over. Every value is checked once, at load; errors name the setting and say what is allowed.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { SettingsError, coerceKind, presentValue, type Kind } from './setting-kinds.js';
import { DEFAULT_MAX_FLIGHTS } from './flight.js';
import { CASE_FOLDINGS, type CaseFolding } from '../query/casefold.js';
import { UDP_IO, type UdpIo } from '../dns/udp.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../common/log.js';

export interface Settings {
  ZONE: string;
  INTERFACE: string;
  PORT: number;
  REDIS_SERVER: string;
  READ_FROM: 'master' | 'replica';
  REDIS_TIMEOUT_MS: number;
  MAX_PENDING: number;
  MAX_KEYS: number;
  PARTITIONED_LISTINGS: boolean;
  MAX_UDP_PAYLOAD: number;
  MAX_TCP_PAYLOAD: number;
  MAX_VALUE_PAYLOAD: number;
  RETURN_PARTIAL_TCP: boolean;
  RETURN_PARTIAL_VALUE: boolean;
  NXDOMAIN_FOR_SERVFAIL: boolean;
  TCP_TIMEOUT: number;
  MAX_TCP_CONNECTIONS: number;
  WORKERS: number;
  ALL_QUERIES_AS_TXT: boolean;
  CASE_FOLDING: CaseFolding;
  MAX_TTL: number;
  DEFAULT_TTL: number;
  MIN_TTL: number;
  DEBOUNCE: boolean;
  PREFETCH: boolean;
  MAX_FLIGHTS: number;
  STATS: number;
  LOG_LEVEL: LogLevel;
  LOG_FORMAT: LogFormat;
  METRICS: string | null;
  UDP_IO: UdpIo;
  UDP_ANSWER_CACHE: boolean;
  ENABLE_ERROR_TXT: boolean;
  RKVDNS_FQDN: string | null;
  SOA_CONTACT: string | null;
  CONFORMANCE: boolean;
  CONTROL_KEY: string | null;
  ALLOW_QUERY: string | null;
  INTROSPECTION: boolean | string;
  EXPOSE_KEYS: string | null;
  RRL_RESPONSES_PER_SECOND: number;
  RRL_NXDOMAINS_PER_SECOND: number;
  RRL_ERRORS_PER_SECOND: number;
  RRL_SLIP: number;
  RRL_WINDOW: number;
  RRL_IPV4_PREFIX: number;
  RRL_IPV6_PREFIX: number;
  RRL_EXEMPT: string | null;
  RRL_TABLE_SIZE: number;
}

/** What a setting holds. */
export type SettingValue = Settings[keyof Settings];

interface Def {
  kind: Kind;
  default: SettingValue;
  doc: string;
}

const int = (min: number, max: number): Kind => ({ t: 'int', min, max });
const seconds = (min: number, max: number): Kind => ({ t: 'seconds', min, max });
const bool: Kind = { t: 'bool' };

/** The single source of truth for defaults, types and documentation of every setting. */
export const SETTINGS: Readonly<Record<keyof Settings, Def>> = {
  ZONE: { kind: { t: 'name', nullable: false }, default: null, doc: 'the zone this server is authoritative for (required)' },
  INTERFACE: { kind: { t: 'text' }, default: '127.0.0.1', doc: 'address to listen on, UDP and TCP' },
  PORT: { kind: int(0, 65535), default: 53, doc: 'port to listen on, UDP and TCP' },
  REDIS_SERVER: {
    kind: { t: 'redis' },
    default: 'redis://127.0.0.1:6379',
    doc: 'Redis URL (redis://[user:pass@]host:port[/db]), a cluster: redis+cluster://[user:pass@]host:port,host:port, or a master watched by Sentinel: redis+sentinel://[user:pass@]host:port,host:port/<master name>[?sentinelPassword=...]',
  },
  READ_FROM: {
    kind: { t: 'enum', values: ['master', 'replica'] },
    default: 'master',
    doc: 'behind Sentinel: read from the master or from a replica the sentinels name (a replica may lag the master by the replication delay)',
  },
  REDIS_TIMEOUT_MS: { kind: int(10, 60_000), default: 1000, doc: 'a Redis command not answered in this time fails (SERVFAIL)' },
  MAX_PENDING: { kind: int(1, 1_000_000), default: 2000, doc: 'queries waiting on Redis; beyond it UDP queries are dropped' },
  MAX_KEYS: { kind: int(1, 100_000_000), default: 2_000_000, doc: 'keys a pattern may enumerate before the answer is an error' },
  PARTITIONED_LISTINGS: { kind: bool, default: true, doc: 'answer <i>of<n>.<pattern>.<op> listing pages (keys, klen, kplen, shards, shget)' },
  MAX_UDP_PAYLOAD: { kind: int(512, 65_535), default: 1200, doc: 'largest UDP answer offered to EDNS clients' },
  MAX_TCP_PAYLOAD: { kind: int(512, 65_535), default: 60_000, doc: 'largest TCP answer' },
  MAX_VALUE_PAYLOAD: { kind: int(1, 255), default: 255, doc: 'largest single value in an answer' },
  RETURN_PARTIAL_TCP: { kind: bool, default: false, doc: 'over MAX_TCP_PAYLOAD: send the records that fit instead of failing' },
  RETURN_PARTIAL_VALUE: { kind: bool, default: false, doc: 'values over MAX_VALUE_PAYLOAD are cut instead of dropped' },
  NXDOMAIN_FOR_SERVFAIL: { kind: bool, default: false, doc: 'answer NXDOMAIN instead of SERVFAIL for oversize answers' },
  TCP_TIMEOUT: { kind: seconds(1, 3600), default: 30, doc: 'seconds an idle TCP connection is kept' },
  MAX_TCP_CONNECTIONS: { kind: int(1, 100_000), default: 512, doc: 'concurrent TCP connections accepted' },
  WORKERS: { kind: int(1, 256), default: 1, doc: 'server processes sharing the port (up to one per core)' },
  ALL_QUERIES_AS_TXT: { kind: bool, default: false, doc: 'answer every query type as TXT' },
  CASE_FOLDING: { kind: { t: 'enum', values: CASE_FOLDINGS }, default: 'lower', doc: 'none | lower | upper | escape, applied to key and hget field labels' },
  MAX_TTL: { kind: seconds(0, 2_147_483_647), default: 3600, doc: 'upper clamp for every answer TTL' },
  DEFAULT_TTL: { kind: seconds(0, 2_147_483_647), default: 30, doc: 'TTL for answers without a key TTL (keys, klen, shards, ...)' },
  MIN_TTL: { kind: seconds(0, 2_147_483_647), default: 5, doc: 'lower clamp for every answer TTL' },
  DEBOUNCE: { kind: bool, default: false, doc: 'drop repeats of a query from the same client within 5 s' },
  PREFETCH: { kind: bool, default: true, doc: "a repeat in a flight's last 1-2 s also starts the next flight's lookup" },
  MAX_FLIGHTS: {
    kind: int(1, 10_000_000),
    default: DEFAULT_MAX_FLIGHTS,
    doc: 'flights the marshalling table holds; beyond it a new lookup runs alone (flights_full) until flights end',
  },
  STATS: { kind: seconds(0, 86_400), default: 0, doc: 'seconds between statistics log lines (0: off)' },
  LOG_LEVEL: { kind: { t: 'enum', values: LOG_LEVELS }, default: 'info', doc: 'debug | info | warn | error | silent' },
  LOG_FORMAT: { kind: { t: 'enum', values: LOG_FORMATS }, default: 'text', doc: 'text | json (one object per line, for log pipelines)' },
  UDP_IO: {
    kind: { t: 'enum', values: UDP_IO },
    default: 'auto',
    doc: 'how UDP is read and written: dgram (node:dgram), batched (recvmmsg/sendmmsg addon, Linux), auto (batched when built)',
  },
  UDP_ANSWER_CACHE: {
    kind: bool,
    default: true,
    doc: 'batched UDP: repeats of an answer served from a flight are sent by the addon, without JavaScript, until that answer would change (per client with ALLOW_QUERY; off with RRL, DEBOUNCE or CONTROL_KEY)',
  },
  METRICS: {
    kind: { t: 'hostport' },
    default: null,
    doc: 'HOST:PORT serving /metrics (Prometheus), /healthz and /readyz over HTTP, e.g. 127.0.0.1:9153. None: off',
  },
  ENABLE_ERROR_TXT: { kind: bool, default: false, doc: 'answer errors as a CNAME to <digits>.error.<zone> with the error text' },
  RKVDNS_FQDN: { kind: { t: 'name', nullable: true }, default: null, doc: 'name of this server, for the synthesised NS and SOA' },
  SOA_CONTACT: { kind: { t: 'name', nullable: true }, default: null, doc: 'SOA contact (hostmaster.example.com)' },
  CONFORMANCE: { kind: bool, default: false, doc: 'answer the way qname-minimising resolvers expect' },
  CONTROL_KEY: { kind: { t: 'name', nullable: true }, default: null, doc: 'Redis hash overlaid on the settings per query (tests only)' },
  ALLOW_QUERY: {
    kind: { t: 'cidrs' },
    default: null,
    doc: 'client addresses answered (10.0.0.0/8,2001:db8::/32); others get REFUSED. None: every client',
  },
  INTROSPECTION: {
    kind: { t: 'access' },
    default: true,
    doc: 'who may read config.<zone>, stats.<zone> and queues.<zone>: True (every client answered), False (none: REFUSED), or client networks (127.0.0.0/8,10.0.0.0/8)',
  },
  EXPOSE_KEYS: {
    kind: { t: 'globs' },
    default: null,
    doc: "key globs served, separated by spaces ('web_* totalizers;*'); other keys read as missing. None: every key but the agent's",
  },
  RRL_RESPONSES_PER_SECOND: {
    kind: int(0, 1_000_000),
    default: 0,
    doc: 'UDP answers per second per client network before response rate limiting drops them (0: off)',
  },
  RRL_NXDOMAINS_PER_SECOND: { kind: int(-1, 1_000_000), default: -1, doc: 'the same for NXDOMAIN answers (-1: as RRL_RESPONSES_PER_SECOND; 0: no limit)' },
  RRL_ERRORS_PER_SECOND: { kind: int(-1, 1_000_000), default: -1, doc: 'the same for error answers (-1: as RRL_RESPONSES_PER_SECOND; 0: no limit)' },
  RRL_SLIP: { kind: int(0, 10), default: 2, doc: 'every Nth limited response goes out as an empty TC=1 answer (0: all dropped)' },
  RRL_WINDOW: { kind: seconds(1, 3600), default: 15, doc: 'seconds a client network is remembered by rate limiting' },
  RRL_IPV4_PREFIX: { kind: int(0, 32), default: 24, doc: 'IPv4 clients are limited per network of this prefix length' },
  RRL_IPV6_PREFIX: { kind: int(0, 128), default: 56, doc: 'IPv6 clients are limited per network of this prefix length' },
  RRL_EXEMPT: { kind: { t: 'cidrs' }, default: null, doc: 'client addresses never rate-limited (your own resolvers)' },
  RRL_TABLE_SIZE: { kind: int(100, 10_000_000), default: 20_000, doc: 'client networks tracked at most (least recently seen dropped first)' },
};

export { SettingsError };

export const SETTING_NAMES = Object.keys(SETTINGS) as (keyof Settings)[];

/** Coerces a value from YAML, the command line or the control hash (`True`, `None`, `42`, `5m`, `a.b`). */
export function coerce(name: keyof Settings, raw: unknown): unknown {
  return coerceKind(name, SETTINGS[name].kind, raw);
}

function checkConsistency(s: Settings): void {
  if (s.MIN_TTL > s.MAX_TTL) throw new SettingsError('MIN_TTL', `(${s.MIN_TTL}) is larger than MAX_TTL (${s.MAX_TTL})`);
}

/** Builds settings from layers (file, then command line), later layers winning. Unknown names are errors. */
export function buildSettings(...layers: Record<string, unknown>[]): Settings {
  const out: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) out[name] = SETTINGS[name].default;
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      const name = k.toUpperCase();
      if (!Object.hasOwn(SETTINGS, name)) throw new SettingsError(k, `unknown setting; known settings are ${SETTING_NAMES.join(', ')}`);
      out[name] = coerce(name as keyof Settings, v);
    }
  }
  if (out.ZONE === null) throw new SettingsError('ZONE', 'is required: set ZONE in the config file or pass --zone');
  const s = out as unknown as Settings;
  checkConsistency(s);
  return s;
}

export function loadSettingsFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read config file ${path}: ${(e as Error).message}`, { cause: e });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`config file ${path} is not valid YAML: ${(e as Error).message}`, { cause: e });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`config file ${path} must be a mapping of SETTING: value`);
  return doc as Record<string, unknown>;
}

/** Settings fixed at start-up: where to serve and read, and what the chain's first links were built from. */
const NOT_OVERLAID = new Set<string>([
  'ZONE',
  'REDIS_SERVER',
  'READ_FROM',
  'CONTROL_KEY',
  'METRICS',
  'UDP_IO',
  'UDP_ANSWER_CACHE',
  'MAX_FLIGHTS',
  'ALLOW_QUERY',
  'INTROSPECTION',
  'EXPOSE_KEYS',
  ...SETTING_NAMES.filter((n) => n.startsWith('RRL_')),
]);

/** Applies the control-hash overlay for one query; invalid fields are reported and ignored. */
export function overlaySettings(base: Settings, fields: Record<string, string>, onError: (e: Error) => void): Settings {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(fields)) {
    const name = k.toUpperCase();
    if (!Object.hasOwn(SETTINGS, name) || NOT_OVERLAID.has(name)) continue;
    try {
      out[name] = coerce(name as keyof Settings, v);
    } catch (e) {
      onError(e as Error);
    }
  }
  return out as unknown as Settings;
}

export function presentSetting(v: SettingValue): string {
  return presentValue(v);
}

/** The reference table of docs/rkvdns.md (npm run docs:tables): every setting, its default and meaning. */
export function settingsTable(): string {
  const cell = (t: string) => t.replaceAll('|', '\\|');
  const rows = SETTING_NAMES.map((n) => `| \`${n}\` | ${cell(presentSetting(SETTINGS[n].default))} | ${cell(SETTINGS[n].doc)} |`);
  return ['| setting | default | meaning |', '|---|---|---|', ...rows].join('\n');
}
