/** `HOST:PORT` as operators write it for a listener: `127.0.0.1:9153`, `[::1]:9153`, `:9153` (every address). */

export interface HostPort {
  host: string;
  port: number;
}

/** Parses a listen address; the error says what was expected, for the caller to prefix with the option's name. */
export function parseHostPort(text: string): HostPort | { error: string } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) return { error: `expected HOST:PORT (e.g. 127.0.0.1:5300 or [::1]:5300), got '${text}'` };
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** The address as it would be written back, with IPv6 in brackets. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** An optional listen address as a config file or flag gives it: null for None, null or nothing, else canonical HOST:PORT. */
export function optionalHostPort(raw: unknown): string | null | { error: string } {
  if (raw === null || raw === undefined || (typeof raw === 'string' && /^(none|null|)$/i.test(raw.trim()))) return null;
  if (typeof raw !== 'string') return { error: `expected HOST:PORT such as 127.0.0.1:9153, or None; got ${JSON.stringify(raw)}` };
  const at = parseHostPort(raw);
  return 'error' in at ? at : formatHostPort(at);
}
