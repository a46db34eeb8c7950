/**
 * `totalize serve`'s paths beside /metrics, /healthz and /readyz: the dashboard page and its assets, and the API.
 * Every viewer shares the one lookup cache (answers kept for their TTL, lookups on their way shared) and identical
 * API requests share one computation, so ten open pages cost the DNS what one does.
 */
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import { createRequire } from 'node:module';
import type { ExtraRoutes } from '../../common/instruments.js';
import type { Logger } from '../../common/log.js';
import { timedRound } from '../round-log.js';
import { DescriptionCache } from '../described.js';
import type { ExportedTotalizer } from '../exporter.js';
import type { Lookups } from '../lookup.js';
import { ApiError, computedKey, computeTotals, parseTotalsQuery, renderTotals, totalizersList, type Computed } from './api.js';
import { PAGE, STYLE } from './page.js';

const require = createRequire(import.meta.url);

/** The page's files, read once: the page, its style, the compiled script, and uPlot from the package. */
function assets(): Map<string, { type: string; body: Buffer }> {
  const js = 'text/javascript; charset=utf-8';
  const css = 'text/css; charset=utf-8';
  return new Map([
    ['/', { type: 'text/html; charset=utf-8', body: Buffer.from(PAGE) }],
    ['/assets/style.css', { type: css, body: Buffer.from(STYLE) }],
    ['/assets/app.js', { type: js, body: readFileSync(new URL('./browser/app.js', import.meta.url)) }],
    ['/assets/uplot.js', { type: js, body: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')) }],
    ['/assets/uplot.css', { type: css, body: readFileSync(require.resolve('uplot/dist/uPlot.min.css')) }],
  ]);
}

/** Nothing but this server: scripts, styles, fetches and images from its own origin. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function send(res: http.ServerResponse, head: boolean, status: number, type: string, body: Buffer | string, cache = 'no-store'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': cache, ...SECURITY_HEADERS });
  res.end(head ? undefined : body);
}

const sendJson = (res: http.ServerResponse, head: boolean, status: number, value: unknown) =>
  send(res, head, status, 'application/json; charset=utf-8', JSON.stringify(value));

export function dashboardRoutes(totalizers: readonly ExportedTotalizer[], lookups: Lookups, log: Logger): ExtraRoutes {
  const files = assets();
  const descriptions = new DescriptionCache();
  const byName = new Map(totalizers.map((t) => [t.name, t]));
  /** Requests being answered, by totalizer and canonical query: the same request asked again waits for it. */
  const inflight = new Map<string, Promise<unknown>>();

  let sharedCount = 0;
  const shared = (key: string, work: () => Promise<unknown>) => {
    let p = inflight.get(key);
    if (p) sharedCount++;
    else {
      p = work().finally(() => inflight.delete(key));
      inflight.set(key, p);
    }
    return p;
  };

  const fail = (res: http.ServerResponse, head: boolean) => (e: Error) => {
    if (e instanceof ApiError) return sendJson(res, head, e.status, { error: e.message });
    log.error(`api: ${e.message}`);
    sendJson(res, head, 500, { error: e.message });
  };

  return (req, res, url) => {
    const head = req.method === 'HEAD';
    const file = files.get(url.pathname);
    if (file) {
      send(res, head, 200, file.type, file.body, url.pathname === '/' ? 'no-store' : 'max-age=300');
      return true;
    }
    if (url.pathname === '/api/stats') {
      // What the DNS has cost so far, read without starting a round (a /metrics scrape totals everything first).
      sendJson(res, head, 200, { dnsQueries: lookups.queries, answeredFromCache: lookups.hits, requestsShared: sharedCount });
      return true;
    }
    if (url.pathname === '/api/totalizers') {
      void shared('list', () => totalizersList(totalizers, descriptions, lookups)).then((list) => sendJson(res, head, 200, list), fail(res, head));
      return true;
    }
    const m = /^\/api\/totals\/([^/]+)$/.exec(url.pathname);
    if (!m) return false;
    const name = decodeURIComponent(m[1]!);
    const t = byName.get(name);
    if (!t) {
      sendJson(res, head, 404, { error: `no totalizer '${name}' is served here; these are: ${[...byName.keys()].join(', ')}` });
      return true;
    }
    try {
      const q = parseTotalsQuery(url.searchParams, t);
      // Requests that differ only in top or format share one computation.
      const what = `totals of ${name} over ${q.window} s${q.by ? ` by ${String(q.by)}` : ''}${q.where.length ? ` where ${q.where.join(' ')}` : ''}`;
      void shared(computedKey(name, q), () => timedRound(log, what, lookups, () => computeTotals(t, q, { lookups, descriptions }))).then(
        (c) => sendJson(res, head, 200, renderTotals(t, q, c as Computed)),
        fail(res, head),
      );
    } catch (e) {
      fail(res, head)(e as Error);
    }
    return true;
  };
}
