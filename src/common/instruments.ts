/**
 * The HTTP listener for operators' instruments, shared by rkvdns, the agent and the totals exporter:
 *   /metrics  the Prometheus text format (200, or 500 saying what failed)
 *   /healthz  200 while the process serves HTTP at all (liveness: restart it when this fails)
 *   /readyz   200 when it can do its work, 503 with the reasons when not (readiness: send it no traffic)
 * GET and HEAD only; anything else is 405, unknown paths 404. It is off the hot path: one small server, no
 * per-query work.
 */
import http from 'node:http';
import type { Logger } from './log.js';
import { formatHostPort, parseHostPort, type HostPort } from './hostport.js';
import { CONTENT_TYPE } from './metrics.js';

export interface InstrumentSource {
  /** The exposition text. */
  metrics(): Promise<string>;
  /** Why the program cannot do its work now; empty when it can. */
  unready(): Promise<string[]>;
  /** Said after `ready` when there is something to say (where rkvdns reads from behind Sentinel). */
  readyDetail?(): string | null;
}

/**
 * More paths on the same listener (the dashboard): handles the request and returns true, or returns false to
 * leave it to the instruments (and their 404).
 */
export type ExtraRoutes = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean;

export interface InstrumentsListener extends HostPort {
  close(): Promise<void>;
}

export const ENDPOINTS = '/metrics (Prometheus), /healthz (liveness), /readyz (readiness: 503 with the reasons while not ready)';

function reply(res: http.ServerResponse, head: boolean, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}

export function serveInstruments(at: HostPort, source: InstrumentSource, log: Logger, routes?: ExtraRoutes): Promise<InstrumentsListener> {
  const server = http.createServer((req, res) => {
    const head = req.method === 'HEAD';
    if (routes && (req.method === 'GET' || head) && routes(req, res, new URL(req.url ?? '/', 'http://local'))) return;
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      return reply(res, false, 405, 'only GET and HEAD\n');
    }
    const path = (req.url ?? '/').split('?')[0];
    const failed = (what: string) => (e: Error) => {
      log.error(`${what} failed: ${e.message}`);
      reply(res, head, 500, `${what} failed: ${e.message}\n`);
    };
    switch (path) {
      case '/metrics':
        return void source.metrics().then((text) => reply(res, head, 200, text, CONTENT_TYPE), failed('metrics'));
      case '/healthz':
        return reply(res, head, 200, 'ok\n');
      case '/readyz':
        return void source.unready().then((reasons) => {
          if (reasons.length) return reply(res, head, 503, `not ready: ${reasons.join('; ')}\n`);
          const detail = source.readyDetail?.();
          reply(res, head, 200, detail ? `ready (${detail})\n` : 'ready\n');
        }, failed('readiness'));
      case '/':
        return reply(res, head, 200, `${ENDPOINTS}\n`);
      default:
        return reply(res, head, 404, `not found; the endpoints are ${ENDPOINTS}\n`);
    }
  });
  // A probe that stalls must not hold a socket for ever.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      server.on('error', (e) => log.error(`instruments listener: ${e.message}`));
      const a = server.address() as { address: string; port: number };
      resolve({
        host: a.address,
        port: a.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** Serves the instruments at a HOST:PORT the program's `setting` gave, logging where; a failure names the setting. */
export async function serveInstrumentsAt(
  address: string,
  setting: string,
  source: InstrumentSource,
  log: Logger,
  routes?: ExtraRoutes,
): Promise<InstrumentsListener> {
  const at = parseHostPort(address);
  if ('error' in at) throw new Error(`${setting}: ${at.error}`);
  const l = await serveInstruments(at, source, log, routes).catch((e: NodeJS.ErrnoException) => {
    throw new Error(`cannot serve ${setting} on ${address}: ${e.code === 'EADDRINUSE' ? 'address in use; choose another port' : e.message}`, { cause: e });
  });
  log.info(`metrics and health on http://${formatHostPort(l)} (/metrics, /healthz, /readyz)`);
  return l;
}
