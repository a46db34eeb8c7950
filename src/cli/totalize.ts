#!/usr/bin/env node
/** totalize: totals of a totalizer over a window, through DNS only. */
import { existsSync, readFileSync } from 'node:fs';
import { VERSION } from '../common/version.js';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { SpecError } from '../client/matchspec.js';
import { parseWindow } from '../client/spec.js';
import { planTotal } from '../client/plan.js';
import { renderCsv, renderJson, renderTable } from '../client/render.js';
import { makeLookups, total, totalizerDescription, type TotalOptions } from '../client/total.js';
import { totalsFamilies } from '../client/prometheus.js';
import { registryOf } from '../common/metrics.js';
import { ExporterConfigError, parseTotalizers, startExporter } from '../client/exporter.js';
import { dashboardRoutes } from '../client/serve/routes.js';
import { createLogger, LOG_LEVELS, type LogLevel } from '../common/log.js';
import { formatHostPort, parseHostPort } from '../common/hostport.js';
import { onSignals } from '../common/signals.js';
import type { Progress } from '../client/progress.js';
import { progressLine } from './progress-line.js';

const USAGE = 2;
const DNS_ERROR = 1;

class UsageError extends Error {}

interface Opts {
  window: string;
  zone?: string;
  server?: string[];
  keypattern?: string;
  by?: string[];
  where?: string[];
  sharded?: boolean;
  trend?: boolean;
  format: 'table' | 'json' | 'csv' | 'prometheus';
  top?: string;
  watch?: string;
  debug?: boolean;
  fanout?: string;
  spark?: boolean;
  fields?: string;
  timeout: string;
  config?: string;
  columns?: string;
  delimiter: string;
}

interface Defaults {
  zone?: string;
  server?: string[];
  /** The served totalizers' section, as written (checked by `totalize serve`); `exporter` is its older name. */
  serve?: Record<string, unknown>;
  exporter?: Record<string, unknown>;
  file?: string;
}

function loadDefaults(path: string | undefined): Defaults {
  const file = path ?? process.env.TOTALIZE_CONFIG ?? (existsSync('config/totalize.yaml') ? 'config/totalize.yaml' : undefined);
  const out: Defaults = file ? { file } : {};
  if (file) {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
    }
    const d = (doc ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(d))
      if (!['zone', 'server', 'serve', 'exporter'].includes(k)) throw new UsageError(`${file}: unknown key '${k}' (known: zone, server, serve, exporter)`);
    if (typeof d.zone === 'string') out.zone = d.zone;
    if (d.serve !== undefined && d.exporter !== undefined) throw new UsageError(`${file}: both serve and exporter sections; keep one (serve)`);
    for (const section of ['serve', 'exporter'] as const)
      if (d[section] !== undefined) {
        if (typeof d[section] !== 'object' || d[section] === null) throw new UsageError(`${file}: ${section} must be a mapping (listen, totalizers)`);
        out[section] = d[section] as Record<string, unknown>;
      }
    if (d.server) out.server = ([] as string[]).concat(d.server as string[]).map(String);
  }
  if (process.env.TOTALIZE_ZONE) out.zone = process.env.TOTALIZE_ZONE;
  if (process.env.TOTALIZE_SERVER) out.server = process.env.TOTALIZE_SERVER.split(/[\s,]+/).filter(Boolean);
  return out;
}

const program = new Command('totalize')
  .version(VERSION, '-V, --version', 'print the version and exit')
  .description(
    'Totals of a totalizer over a time window, fetched through DNS only (no Redis access).\n' +
      'Example: totalize web_client --window 1h --trend --server 127.0.0.1:5300 --zone rkvdns.example.com',
  )
  .argument('<prefix>', 'the totalizer (first key field), e.g. web_client')
  .argument('[field-spec...]', 'upstream style, one per field after the prefix: break | ignore (_) | literal | abc* (grouped) | abc** (not grouped)')
  .option('-w, --window <duration>', 'reporting window: seconds or 90s, 30m, 1h, 1d', '3600')
  .option('-z, --zone <zone>', 'the rkvdns zone (default from config/totalize.yaml or TOTALIZE_ZONE)')
  .option('-s, --server <server...>', 'nameserver(s) HOST[:PORT] to ask (default: the system resolver; or TOTALIZE_SERVER)')
  .option('--keypattern <pattern>', "key pattern naming the fields (default: the totalizer's description, else <prefix>;<matched>;<source>;<start_ts>)")
  .option('--by <field...>', "group by these fields, or by parts of matched named in the totalizer's description (default: matched)")
  .option('--where <field=value...>', 'only keys whose field equals value (or matches abc*)')
  .option('--sharded', 'one shget query instead of keys + one get per bucket')
  .option('--trend', "add trend = last quarter of the window / (total × 0.25) (for max and min: the last quarter's / the window's), capped at 9.99")
  .option('--spark', 'add a sparkline of the bucket values over the window, each over the time it covers (newest right)')
  .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json', 'csv', 'prometheus']).default('table'))
  .option('--top <n>', 'only the N largest groups')
  .option('--columns <names>', 'column names for comma-joined values, e.g. ip,status')
  .option('--watch <seconds>', 'refresh the view every N seconds (Ctrl-C to stop)')
  .option('--fanout <name>', 'a name whose PTR records list several rkvdns zones; totals from each are added')
  .option('--fields <n>', 'fields per key, timestamp included (default: inferred)')
  .option('--delimiter <c>', 'key field delimiter', ';')
  .option('--timeout <ms>', 'timeout per DNS try', '2000')
  .option('--config <file>', 'defaults for zone and server (default: config/totalize.yaml when present)')
  .option('--debug', 'print each DNS query and its outcome to stderr')
  .addHelpText(
    'after',
    "\n--format prometheus writes gauges for node_exporter's textfile collector (totalizer_value{totalizer,window_seconds,measure,<fields>}).\n" +
      'totalize serve [--listen HOST:PORT]: the totalizers of config/totalize.yaml as a dashboard (/), JSON (/api/totals/<name>) and gauges (/metrics) (totalize serve --help; totalize exporter is the same).\n' +
      '\nExit codes: 0 ok (also an empty total), 1 DNS or server error, 2 usage error.',
  )
  .showHelpAfterError('(totalize --help lists every option)')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : USAGE));

const DEFAULT_EXPORTER_LISTEN = '127.0.0.1:9198';

const serveCommand = new Command('totalize serve')
  .description(
    'Serves the totalizers under serve.totalizers in config/totalize.yaml:\n' +
      '  /                    a dashboard, refreshed as the DNS TTLs allow\n' +
      '  /api/totalizers      what is served (JSON)\n' +
      '  /api/totals/<name>   totals as --format json, with series;\n' +
      '                       ?window=1h&by=status&where=source=web1&top=10&format=graphite\n' +
      '  /metrics, /healthz, /readyz\n' +
      'All pages and scrapes share one DNS cache. Loopback unless --listen says\n' +
      'otherwise (docs/SECURITY.md). `totalize exporter` is the same command.',
  )
  .option('--listen <host:port>', `HTTP address (default serve.listen or exporter.listen, else ${DEFAULT_EXPORTER_LISTEN})`)
  .option('--config <file>', 'the config file (default: config/totalize.yaml, or TOTALIZE_CONFIG)')
  .option('-z, --zone <zone>', 'the zone of totalizers that name none (default: zone in the config file)')
  .option('-s, --server <server...>', 'nameserver(s) HOST[:PORT] (default: server in the config file, else the system resolver)')
  .option('--timeout <ms>', 'timeout per DNS try', '2000')
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
  .showHelpAfterError('(totalize --help lists every option)')
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : USAGE));

/** `totalize serve` (and its alias `totalize exporter`): runs until SIGTERM/SIGINT. */
async function serve(command: string): Promise<number> {
  serveCommand.name(`totalize ${command}`);
  serveCommand.parse(process.argv.slice(3), { from: 'user' });
  const o = serveCommand.opts<{ listen?: string; config?: string; zone?: string; server?: string[]; timeout: string; logLevel: LogLevel }>();
  const defaults = loadDefaults(o.config);
  const sectionName = defaults.serve ? 'serve' : 'exporter';
  const section = defaults.serve ?? defaults.exporter ?? {};
  for (const k of Object.keys(section))
    if (k !== 'listen' && k !== 'totalizers') throw new UsageError(`${sectionName}: unknown key '${k}' (known: listen, totalizers)`);
  if (!defaults.serve && !defaults.exporter)
    throw new UsageError(`no serve section in ${defaults.file ?? 'config/totalize.yaml (not found)'}: list the totalizers to serve under serve.totalizers`);
  const listen = o.listen ?? (typeof section.listen === 'string' ? section.listen : DEFAULT_EXPORTER_LISTEN);
  // Checked here for a usage error's exit code; the listener parses it again.
  const at = parseHostPort(listen);
  if ('error' in at) throw new UsageError(`--listen: ${at.error}`);
  const timeoutMs = Number(o.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout '${o.timeout}' must be a positive integer`);
  let totalizers;
  try {
    totalizers = parseTotalizers(section.totalizers, o.zone ?? defaults.zone, timeoutMs, sectionName);
  } catch (e) {
    throw new UsageError(`${defaults.file}: ${(e as Error).message}`);
  }
  const log = createLogger(o.logLevel, `totalize ${command}`);
  const servers = o.server ?? defaults.server;
  const lookups = makeLookups({ ...(servers ? { nameservers: servers } : {}), timeoutMs });
  const running = await startExporter(listen, totalizers, lookups, log, dashboardRoutes(totalizers, lookups, log));
  const url = `http://${formatHostPort(running.listener)}`;
  log.info(`serving ${totalizers.map((t) => t.name).join(', ')}: the dashboard on ${url}/, gauges on ${url}/metrics`);
  await new Promise<void>((done) =>
    onSignals((sig) => {
      log.info(`${sig}: stopping`);
      void running.listener.close().then(done);
    }),
  );
  return 0;
}

async function main(): Promise<number> {
  if (process.argv[2] === 'serve' || process.argv[2] === 'exporter') return serve(process.argv[2]);
  program.parse();
  const [prefix, tokens] = program.processedArgs as [string, string[]];
  const o = program.opts<Opts>();
  const defaults = loadDefaults(o.config);
  const zone = o.zone ?? defaults.zone;
  if (!zone && !o.fanout) throw new UsageError('no zone: pass --zone (or --fanout), set zone in config/totalize.yaml, or TOTALIZE_ZONE');
  const window = parseWindow(o.window);
  const num = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) <= 0) throw new UsageError(`--${name} '${v}' must be a positive integer`);
    return Number(v);
  };
  const debug = o.debug ? (l: string) => process.stderr.write(`debug: ${l}\n`) : undefined;
  const timeoutMs = num(o.timeout, 'timeout')!;
  const servers = o.server ?? defaults.server;
  const lookups = makeLookups({ ...(servers ? { nameservers: servers } : {}), timeoutMs, ...(debug ? { debug } : {}), once: !o.watch });
  // The totalizer says how its keys are written (fields, parts of matched) and what it keeps.
  const description = await totalizerDescription(prefix, { zone: zone ?? o.fanout!, ...(o.fanout ? { fanout: o.fanout } : {}) }, lookups);
  const plan = planTotal(
    {
      prefix,
      tokens,
      ...(o.keypattern ? { keypattern: o.keypattern } : {}),
      ...(o.by ? { by: o.by } : {}),
      ...(o.where ? { where: o.where } : {}),
      delimiter: o.delimiter,
      ...(o.columns ? { columns: o.columns.split(',') } : {}),
      trend: !!o.trend,
      ...(o.spark ? { sparkBins: 24 } : {}),
      ...(o.top ? { top: num(o.top, 'top')! } : {}),
    },
    description,
  );
  const { spec, breakNames, render } = plan;
  const base: TotalOptions = {
    ...plan.options,
    zone: zone ?? o.fanout!,
    window,
    ...(o.fields ? { fieldCount: num(o.fields, 'fields')! } : {}),
    sharded: !!o.sharded,
    ...(o.fanout ? { fanout: o.fanout } : {}),
    timeoutMs,
    ...(debug ? { debug } : {}),
  };
  const once = async (progress?: Progress) => {
    const r = await total(spec, { ...base, lookups, ...(progress ? { progress } : {}) });
    const d = r.diagnostics;
    for (const s of d.keysSkipped.slice(0, 5)) process.stderr.write(`warning: key skipped: ${s.key} ${s.reason}\n`);
    for (const f of d.bucketsFailed.slice(0, 5)) process.stderr.write(`warning: bucket skipped: ${f.key}: ${f.reason}\n`);
    for (const n of d.notes) process.stderr.write(`note: ${n}\n`);
    if (d.bucketsFailed.length > 5) process.stderr.write(`warning: ${d.bucketsFailed.length} buckets skipped in all\n`);
    debug?.(`zones ${d.zones.join(', ')}: ${d.keysListed} key(s) listed, ${d.queries} DNS queries, ${d.cacheHits} answered from cache`);
    if (o.format === 'json') return renderJson(r, render, { prefix, window, zones: d.zones });
    if (o.format === 'csv') return renderCsv(r, render);
    if (o.format === 'prometheus')
      return (
        await registryOf(
          totalsFamilies(() => [
            {
              name: prefix,
              window,
              breakNames,
              trend: !!o.trend,
              result: r,
              ...(render.columns ? { columns: render.columns } : {}),
              ...(render.top ? { top: render.top } : {}),
            },
          ]),
        ).metrics()
      ).trimEnd();
    return renderTable(r, render);
  };
  if (!o.watch) {
    // Progress on a terminal only: not into a pipe or a file, where it would be noise in the output.
    const line = process.stderr.isTTY && process.stdout.isTTY ? progressLine(process.stderr) : null;
    const out = await once(line?.progress).finally(() => line?.end());
    await written(out + '\n');
    return 0;
  }
  const every = num(o.watch, 'watch')!;
  process.on('SIGINT', () => process.exit(0));
  for (;;) {
    const out = await once().catch((e: Error) => `error: ${e.message}`);
    process.stdout.write(`\x1b[2J\x1b[H${prefix} over ${o.window} at ${new Date().toISOString()} (every ${every}s, Ctrl-C to stop)\n\n${out}\n`);
    await new Promise((r) => setTimeout(r, every * 1000));
  }
}

/**
 * Writes to stdout and waits until it is out: into a pipe the write is asynchronous, and the process.exit that
 * follows would cut the output at the pipe's buffer (64 kB: a big totalizer's table). A reader that went away
 * (`| head`) ends the wait too.
 */
function written(text: string): Promise<void> {
  return new Promise((resolve) => {
    process.stdout.once('error', () => resolve());
    process.stdout.write(text, () => resolve());
  });
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    const usage = e instanceof UsageError || e instanceof SpecError || e instanceof ExporterConfigError;
    process.stderr.write(`totalize: ${e.message}\n`);
    process.exit(usage ? USAGE : DNS_ERROR);
  },
);
