#!/usr/bin/env node
/** totalizer-agent: log lines over UDP → time-bucketed Redis counters. */
import { VERSION } from '../common/version.js';
import { Command, Option } from 'commander';
import { optionalHostPort } from '../common/hostport.js';
import { pooledInstruments } from '../common/instrument-sources.js';
import { ENDPOINTS, serveInstrumentsAt } from '../common/instruments.js';
import { createLogger, LOG_LEVELS } from '../common/log.js';
import { startAgent } from '../agent/app.js';
import { checkRules, formatReport, openInput } from '../agent/check.js';
import { loadAgentConfig, type AgentConfig } from '../agent/config.js';
import { onSignals } from '../common/signals.js';
import { formatHostPort } from '../common/hostport.js';
import { follow } from '../agent/follow/run.js';
import { followOptions, type FollowFlags } from '../agent/follow/options.js';
import { parseRedisTarget } from '../redis/target.js';
import { answerPrimary, forkWorkers, isWorker, tellPrimary, workerId } from '../common/workers.js';

type Bindings = Awaited<ReturnType<typeof startAgent>>['bindings'];

/** The primary of `workers: N`: forks the workers, reports where they listen, stops them on a signal. */
async function runPrimary(cfg: AgentConfig, log: ReturnType<typeof createLogger>): Promise<void> {
  let pool;
  try {
    pool = await forkWorkers<Bindings>(cfg.workers, log);
  } catch (e) {
    log.error((e as Error).message);
    process.exit(1);
  }
  let metrics;
  try {
    metrics = cfg.metrics ? await serveInstrumentsAt(cfg.metrics, 'metrics', pooledInstruments(pool), log) : null;
  } catch (e) {
    log.error((e as Error).message);
    await pool.stop();
    process.exit(1);
  }
  onSignals((sig) => {
    log.info(`${sig}: stopping ${cfg.workers} workers (each flushes its pending counts)`);
    void Promise.all([metrics?.close(), pool.stop()]).then(() => process.exit(0));
  });
  // Last: once this is logged, everything the agent offers is up.
  for (const b of pool.ready) log.info(`listening on udp ${b.address}:${b.port} for rule(s) ${b.rules.join(', ')} with ${cfg.workers} workers`);
}

async function load(path: string): Promise<AgentConfig> {
  try {
    return await loadAgentConfig(path);
  } catch (e) {
    process.stderr.write(`totalizer-agent: ${(e as Error).message}\n`);
    process.exit(2);
  }
}

const program = new Command('totalizer-agent')
  .version(VERSION, '-V, --version', 'print the version and exit')
  .description(
    'Listens on UDP for log lines, matches them against rules and keeps time-bucketed counters in Redis.\n' +
      'Feed it with: totalizer-agent follow /var/log/apache2/access.log --to 127.0.0.1:3430 (see follow --help)',
  )
  .showHelpAfterError('(totalizer-agent --help lists every option)')
  // Usage errors (an unknown option, a missing value) exit 2, as a bad config does.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program
  .command('run', { isDefault: true })
  .description('listen and count (the default command)')
  .requiredOption('-c, --config <file>', 'rules: YAML (config/agent.yaml) or a JS module (config/agent.config.mjs)')
  .option('--redis <url>', 'Redis URL, overriding the config file')
  .option('--test', 'print the keys that would be incremented instead of writing to Redis')
  .option('--print-lines', 'also print each line as it will be matched')
  .option('--log-level <level>', 'debug | info | warn | error | silent')
  .option('--workers <n>', 'processes sharing the UDP ports (overrides workers in the config)', (v) => Number(v))
  .option('--metrics <host:port>', `serve ${ENDPOINTS} over HTTP there (overrides metrics in the config; default off)`)
  .action(async (o: { config: string; redis?: string; test?: boolean; printLines?: boolean; logLevel?: string; workers?: number; metrics?: string }) => {
    const cfg = await load(o.config);
    if (o.redis) {
      try {
        parseRedisTarget(o.redis, '--redis');
      } catch (e) {
        process.stderr.write(`totalizer-agent: ${(e as Error).message}\n`);
        process.exit(2);
      }
      cfg.redis = o.redis;
    }
    if (o.metrics) {
      const at = optionalHostPort(o.metrics);
      if (at !== null && typeof at !== 'string') {
        process.stderr.write(`totalizer-agent: --metrics: ${at.error}\n`);
        process.exit(2);
      }
      cfg.metrics = at;
    }
    if (o.workers !== undefined) {
      if (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > 256) {
        process.stderr.write(`totalizer-agent: --workers must be an integer from 1 to 256\n`);
        process.exit(2);
      }
      cfg.workers = o.workers;
    }
    const name = isWorker() ? `totalizer-agent worker ${workerId()}` : 'totalizer-agent';
    const log = createLogger((o.logLevel ?? cfg.log_level) as AgentConfig['log_level'], name, undefined, cfg.log_format);
    // Test mode prints keys in order: one process.
    if (cfg.workers > 1 && !o.test && !isWorker()) return runPrimary(cfg, log);
    let agent;
    try {
      agent = await startAgent(cfg, log, { test: !!o.test, printLines: !!o.printLines });
    } catch (e) {
      if (isWorker()) tellPrimary({ failed: (e as Error).message });
      log.error(`${(e as Error).message}`);
      process.exit(1);
    }
    // Built now, not at the first scrape, so the process metrics count CPU from the start.
    const instruments = cfg.metrics ? agent.instruments() : null;
    let metrics = null;
    if (isWorker() && instruments) answerPrimary(() => instruments.share());
    else if (instruments)
      try {
        metrics = await serveInstrumentsAt(cfg.metrics!, 'metrics', instruments, log);
      } catch (e) {
        log.error((e as Error).message);
        await agent.stop();
        process.exit(1);
      }
    if (isWorker()) tellPrimary({ ready: agent.bindings });
    else
      for (const b of agent.bindings)
        log.info(`listening on udp ${b.address}:${b.port} for rule(s) ${b.rules.join(', ')}${o.test ? ' (test mode: printing keys)' : ''}`);
    let stopping = false;
    onSignals((sig) => {
      if (stopping) return;
      stopping = true;
      log.info(`${sig}: flushing pending counts and shutting down`);
      void Promise.all([metrics?.close(), agent.stop()]).then(() => process.exit(agent.stats.dropped_at_shutdown > 0 ? 1 : 0));
    });
  });

program
  .command('check')
  .description('run the rules over a file (or stdin) with no network and report what each rule matches')
  .requiredOption('-c, --config <file>', 'rules file')
  .argument('[file]', 'log file to check; - or nothing reads stdin')
  .action(async (file: string | undefined, o: { config: string }) => {
    const cfg = await load(o.config);
    try {
      process.stdout.write(formatReport(await checkRules(cfg, openInput(file))) + '\n');
    } catch (e) {
      process.stderr.write(`totalizer-agent check: ${(e as Error).message}\n`);
      process.exit(1);
    }
  });

program
  .command('follow')
  .description(
    'send log files to the agent line by line, as tail -F | nc -u would but never cutting a line: follows rename ' +
      'rotation and copytruncate, and keeps its place in a state file so a restart neither resends nor skips a line. ' +
      'UDP reports no delivery: lines sent while the agent is unreachable across a network are lost. To an agent on ' +
      'this host a refused send is noticed, and lines are held until the agent listens again.',
  )
  .argument('<file...>', 'log files to follow; - reads stdin (an Apache piped log: CustomLog "|totalizer-agent follow - --to ..." combined)')
  .option('--to <host:port>', 'the agent', '127.0.0.1:3430')
  .option('--state <file>', 'where the position in each file is kept (default: /var/lib/totalizer/follow-….json as root, else under $XDG_STATE_HOME)')
  .option('--from-start', 'read a file with no saved position from its start (default: its end, as tail -n0)')
  .option('--datagram-bytes <n>', 'lines are packed into datagrams up to this size (default 16384 to a loopback agent, 1400 across a network)')
  .option('--max-lines-per-second <n>', 'send at most this many lines a second; lines wait in the file, none is dropped (0: no limit)', '20000')
  .option('--poll <duration>', 'how often the files are checked for new lines, rotation and truncation', '0.2s')
  .option('--rotate-after <duration>', 'after a rotation, read the old file until it has been quiet this long, then the new one', '5s')
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
  .action(async (files: string[], o: FollowFlags) => {
    const fail = (msg: string): never => {
      process.stderr.write(`totalizer-agent follow: ${msg}\n(totalizer-agent follow --help lists every option)\n`);
      process.exit(2);
    };
    const opts = followOptions(files, o, fail);
    const log = createLogger(o.logLevel as AgentConfig['log_level'], 'totalizer-agent follow');
    let following;
    try {
      following = await follow(opts, log);
    } catch (e) {
      log.error((e as Error).message);
      process.exit(1);
    }
    const running = following;
    const summary = () => {
      const c = running.sender.counts;
      return `sent ${c.lines} lines in ${c.datagrams} datagrams to ${formatHostPort(opts.to)}${c.linesTooLong ? `; ${c.linesTooLong} lines too long skipped` : ''}${c.refusals ? `; the agent refused ${c.refusals} time(s), lines held meanwhile` : ''}`;
    };
    onSignals((sig) => {
      log.info(`${sig}: saving positions and stopping`);
      void running.stop().then(() => {
        log.info(summary());
        process.exit(0);
      });
    });
    running.done.then(
      () => {
        log.info(summary());
        process.exit(0);
      },
      (e: Error) => {
        log.error(e.message);
        process.exit(1);
      },
    );
  });

await program.parseAsync();
