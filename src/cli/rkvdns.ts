#!/usr/bin/env node
/** rkvdns: authoritative DNS server answering read-only Redis queries. */
import { redactedUrl } from '../redis/target.js';
import { VERSION } from '../common/version.js';
import { Command, Option } from 'commander';
import { formatHostPort, parseHostPort } from '../common/hostport.js';
import { pooledInstruments } from '../common/instrument-sources.js';
import { ENDPOINTS, serveInstrumentsAt, type InstrumentSource } from '../common/instruments.js';
import { createLogger } from '../common/log.js';
import { startRkvdns } from '../rkvdns/setup.js';
import { onSignals } from '../common/signals.js';
import { answerPrimary, forkWorkers, isWorker, tellPrimary, workerId } from '../common/workers.js';
import { SETTINGS, SettingsError, buildSettings, loadSettingsFile, presentSetting, type Settings } from '../rkvdns/settings.js';

function parseListen(v: string): { INTERFACE: string; PORT: number } {
  const at = parseHostPort(v);
  if ('error' in at) throw new SettingsError('--listen', at.error);
  return { INTERFACE: at.host, PORT: at.port };
}

const program = new Command('rkvdns')
  .version(VERSION, '-V, --version', 'print the version and exit')
  .description(
    'Authoritative DNS server for one zone: answers read-only Redis queries as TXT/A/AAAA records.\n' +
      'Query names: [<parameter>.]<key-or-pattern>.<operator>.<zone>, e.g. dig @127.0.0.1 -p 5300 foo.get.rkvdns.example TXT',
  )
  .option('-c, --config <file>', 'YAML file of SETTING: value (see config/rkvdns.yaml)')
  .option('--listen <host:port>', 'address and port for UDP and TCP (default 127.0.0.1:53)')
  .option('--redis <url>', `Redis URL, or redis+cluster://host:port,host:port for a cluster (default ${String(SETTINGS.REDIS_SERVER.default)})`)
  .option('--zone <name>', 'zone this server is authoritative for')
  .option('--default-ttl <seconds>', 'TTL where no key TTL applies')
  .option('--min-ttl <seconds>', 'lower TTL clamp')
  .option('--max-ttl <seconds>', 'upper TTL clamp')
  .addOption(new Option('--case-folding <mode>', 'case folding of key labels').choices(['none', 'lower', 'upper', 'escape']))
  .option('--conformance', 'answer as qname-minimising resolvers expect')
  .addOption(
    new Option('--io <mode>', 'UDP reads and writes: dgram, batched (recvmmsg/sendmmsg, Linux) or auto (UDP_IO)').choices(['auto', 'dgram', 'batched']),
  )
  .option('--workers <n>', 'server processes sharing the port, up to one per core (default 1)')
  .option('--metrics <host:port>', `serve ${ENDPOINTS} over HTTP there (the METRICS setting; default off)`)
  .addOption(new Option('--log-level <level>', 'log level').choices(['debug', 'info', 'warn', 'error', 'silent']))
  .option('-s, --set <SETTING=value...>', 'set any setting, e.g. --set ENABLE_ERROR_TXT=True')
  .addHelpText(
    'after',
    '\nSettings (config file keys, overridable with --set):\n' +
      Object.entries(SETTINGS)
        .map(([k, d]) => `  ${k.padEnd(22)} ${presentSetting(d.default).padEnd(24)} ${d.doc}`)
        .join('\n'),
  )
  .showHelpAfterError('(rkvdns --help lists every option and setting)')
  // Usage errors (an unknown option, a bad choice) exit 2, as a bad setting does.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program.parse();
const o = program.opts<{
  config?: string;
  listen?: string;
  redis?: string;
  zone?: string;
  defaultTtl?: string;
  minTtl?: string;
  maxTtl?: string;
  caseFolding?: string;
  conformance?: boolean;
  logLevel?: string;
  workers?: string;
  metrics?: string;
  io?: string;
  set?: string[];
}>();

let settings: Settings;
try {
  const file = o.config ? loadSettingsFile(o.config) : {};
  const sets: Record<string, string> = {};
  for (const kv of o.set ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new SettingsError('--set', `expected SETTING=value, got '${kv}'`);
    sets[kv.slice(0, i)] = kv.slice(i + 1);
  }
  settings = buildSettings(file, sets, {
    ...(o.listen ? parseListen(o.listen) : {}),
    REDIS_SERVER: o.redis,
    ZONE: o.zone,
    DEFAULT_TTL: o.defaultTtl,
    MIN_TTL: o.minTtl,
    MAX_TTL: o.maxTtl,
    CASE_FOLDING: o.caseFolding,
    CONFORMANCE: o.conformance,
    LOG_LEVEL: o.logLevel,
    WORKERS: o.workers,
    METRICS: o.metrics,
    UDP_IO: o.io,
  });
} catch (e) {
  process.stderr.write(`rkvdns: ${(e as Error).message}\n`);
  process.exit(2);
}

const log = createLogger(settings.LOG_LEVEL, isWorker() ? `rkvdns worker ${workerId()}` : 'rkvdns', undefined, settings.LOG_FORMAT);
const redisShown = redactedUrl(settings.REDIS_SERVER);

function explainStartFailure(e: NodeJS.ErrnoException): string {
  if (e.code === 'EACCES') {
    return `cannot bind ${settings.INTERFACE}:${settings.PORT}: permission denied. Use a high port such as --listen 127.0.0.1:5300, or grant CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep $(which node), or AmbientCapabilities= in the systemd unit).`;
  }
  if (e.code === 'EADDRINUSE')
    return `cannot bind ${settings.INTERFACE}:${settings.PORT}: address in use. Stop the other DNS server there or choose another --listen address.`;
  return `start-up failed: ${e.message}`;
}

/** The /metrics, /healthz and /readyz listener, when METRICS asks for one. */
const serveMetrics = async (source: InstrumentSource) => (settings.METRICS ? serveInstrumentsAt(settings.METRICS, 'METRICS', source, log) : null);

if (settings.WORKERS > 1 && !isWorker()) {
  try {
    const pool = await forkWorkers<{ host: string; port: number; udpIo: string }>(settings.WORKERS, log);
    const metrics = await serveMetrics(pooledInstruments(pool));
    onSignals((sig) => {
      log.info(`${sig}: stopping ${settings.WORKERS} workers`);
      void Promise.all([metrics?.close(), pool.stop()]).then(() => process.exit(0));
    });
    // Last: once this is logged, everything the server offers is up.
    log.info(
      `serving zone ${settings.ZONE} on ${formatHostPort(pool.ready)} (udp via ${pool.ready.udpIo}, tcp) with ${settings.WORKERS} workers, redis ${redisShown}`,
    );
  } catch (e) {
    log.error((e as Error).message);
    process.exit(1);
  }
} else {
  try {
    const server = await startRkvdns(settings, log);
    const { host, port } = server.listener;
    // Built now, not at the first scrape, so the process metrics count CPU from the start.
    const instruments = settings.METRICS ? server.instruments() : null;
    const metrics = isWorker() || !instruments ? null : await serveMetrics(instruments);
    if (isWorker() && instruments) answerPrimary(() => instruments.share());
    if (isWorker()) tellPrimary({ ready: { host, port, udpIo: server.listener.udpIo } });
    else log.info(`serving zone ${settings.ZONE} on ${formatHostPort({ host, port })} (udp via ${server.listener.udpIo}, tcp), redis ${redisShown}`);
    if (settings.EXPOSE_KEYS === null && !isWorker())
      log.warn(
        "EXPOSE_KEYS is not set: every key in the database (but the agent's totalizer-agent:* keys) can be listed and read through DNS. Set EXPOSE_KEYS to the globs you serve, e.g. 'web_* totalizers;*'.",
      );
    if (settings.CONTROL_KEY && !isWorker())
      log.warn(`CONTROL_KEY ${settings.CONTROL_KEY} is set: settings are overlaid per query from Redis. Never use this in production.`);
    onSignals((sig) => {
      log.info(`${sig}: shutting down`);
      void Promise.all([metrics?.close(), server.close()]).then(() => process.exit(0));
    });
  } catch (e) {
    const message = explainStartFailure(e as NodeJS.ErrnoException);
    if (isWorker()) tellPrimary({ failed: message });
    else log.error(message);
    process.exit(1);
  }
}
