/**
 * The running agent: one UDP socket per distinct address:port, each feeding the rules bound there into the
 * engine; increments go to the aggregator (or to stdout in test mode). Stats are logged periodically and at
 * shutdown, after a final flush.
 */
import { formatUnits } from '../common/measure.js';
import { plainRedisError } from '../redis/errors.js';
import { redactedUrl } from '../redis/target.js';
import dgram from 'node:dgram';
import net from 'node:net';
import { AddressList } from '../common/cidr.js';
import { clientOf } from '../dns/client-address.js';
import { localInstruments, type LocalInstruments } from '../common/instrument-sources.js';
import type { Logger } from '../common/log.js';
import { Aggregator } from './aggregator.js';
import { DEFAULT_RECEIVE_BUFFER, type AgentConfig } from './config.js';
import { Engine } from './engine.js';
import { LineReassembler } from './reassembly.js';
import { publishDescriptions } from './describe.js';
import type { Rule } from './rules.js';
import { agentFamilies } from './counters.js';
import { AgentStats } from './stats.js';
import { sourcesUsed } from './sources.js';
import { connectAgentRedis, redisBatchWriter } from './writer.js';

/** What --test prints for one match: the key, and for a measure other than count the value it adds. */
function testLine(key: string, rule: Rule, units: number): string {
  return rule.measure === 'count' ? key : `${key} ${rule.measure} ${formatUnits(units, rule.scale)}`;
}

/** Senders with an unfinished line waiting, at most, per listener: beyond, the oldest is taken as it is. */
const MAX_SENDERS_WITH_PARTIALS = 10_000;

export interface AgentOptions {
  /** Print keys instead of writing them. */
  test?: boolean;
  printLines?: boolean;
  out?: (line: string) => void;
}

export interface RunningAgent {
  bindings: { address: string; port: number; rules: string[] }[];
  stats: AgentStats;
  /** What /metrics and /readyz show of this process (built on first call: it loads prom-client). */
  instruments(): LocalInstruments;
  stop(): Promise<void>;
}

function bind(address: string, port: number, recvBufferSize: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: net.isIPv6(address) ? 'udp6' : 'udp4', recvBufferSize });
    s.once('error', reject);
    s.bind(port, address, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

export async function startAgent(cfg: AgentConfig, log: Logger, opts: AgentOptions = {}): Promise<RunningAgent> {
  const stats = new AgentStats();
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const redis = opts.test ? null : connectAgentRedis(cfg.redis, log);
  let aggregator: Aggregator | null = null;
  if (redis) {
    await redis
      .connect()
      .catch((e: Error) => log.warn(`redis not reachable at ${redactedUrl(cfg.redis)} (${plainRedisError(e.message)}); counts are held until it is`));
    const confirm = { replicas: cfg.wait_replicas, timeoutMs: cfg.wait_timeout_ms };
    aggregator = new Aggregator(redisBatchWriter(redis, stats, confirm), stats, log, cfg.max_pending_keys, cfg.flush_keys);
  }
  const descriptions = redis ? publishDescriptions(redis, cfg.rules, log) : null;
  const agg = aggregator;
  const engine = new Engine(
    stats,
    log,
    opts.test || !agg ? (key, rule, _, units) => out(testLine(key, rule, units)) : (key, rule, _, units) => agg.add(key, rule.ttl, rule.measure, units),
  );
  const echo = opts.printLines ? (line: string) => out(`line: ${line}`) : undefined;
  log.info(`counting as source ${sourcesUsed(cfg.rules)}`);

  const groups = new Map<string, Rule[]>();
  for (const r of cfg.rules) {
    const id = `${r.address}|${r.port}`;
    groups.set(id, [...(groups.get(id) ?? []), r]);
  }
  const sockets: dgram.Socket[] = [];
  const bindings: RunningAgent['bindings'] = [];
  const listeners: { reassembler: LineReassembler; rules: Rule[] }[] = [];
  const limits = { timeoutMs: cfg.partial_line_timeout_ms, maxBytes: cfg.partial_line_max_bytes, maxSenders: MAX_SENDERS_WITH_PARTIALS };
  for (const rules of groups.values()) {
    const { address, port } = rules[0]!;
    let sock: dgram.Socket;
    try {
      sock = await bind(address, port, cfg.receive_buffer_bytes ?? DEFAULT_RECEIVE_BUFFER);
    } catch (e) {
      for (const s of sockets) s.close();
      redis?.disconnect();
      throw new Error(`cannot listen on udp ${address}:${port} for rule(s) ${rules.map((r) => r.name).join(', ')}: ${(e as Error).message}`, { cause: e });
    }
    // Linux reports twice the size granted (its bookkeeping share) and caps requests at net.core.rmem_max. Only a
    // size the operator asked for is worth a warning; unset, the kernel's cap is taken as the machine's choice.
    const granted = sock.getRecvBufferSize() / 2;
    if (cfg.receive_buffer_bytes !== null && granted < cfg.receive_buffer_bytes) {
      log.warn(
        `udp ${address}:${port}: receive buffer is ${granted} bytes, not the ${cfg.receive_buffer_bytes} asked (receive_buffer_bytes); bursts beyond it are dropped by the kernel. Raise the cap with: sysctl -w net.core.rmem_max=${cfg.receive_buffer_bytes}`,
      );
    } else if (cfg.receive_buffer_bytes === null) {
      log.info(
        `udp ${address}:${port}: receive buffer ${granted} bytes (receive_buffer_bytes unset: up to ${DEFAULT_RECEIVE_BUFFER}, net.core.rmem_max permitting)`,
      );
    }
    const allowed = rules[0]!.allowFrom === null ? null : new AddressList(rules[0]!.allowFrom);
    const reassembler = new LineReassembler(limits, stats);
    listeners.push({ reassembler, rules });
    const countLines = (text: Buffer) => engine.lines(text, rules, echo);
    sock.on('message', (msg, rinfo) => {
      if (allowed && !allowed.has(clientOf(rinfo.address, rinfo.port))) {
        stats.dropped_not_allowed++;
        return;
      }
      stats.datagrams++;
      const text = reassembler.take(msg, () => `${rinfo.address}|${rinfo.port}`, countLines);
      if (text) countLines(text);
    });
    sock.on('error', (e) => log.error(`udp ${address}:${port}: ${e.message}`));
    sockets.push(sock);
    bindings.push({ address, port: sock.address().port, rules: rules.map((r) => r.name) });
  }

  const flushTimer = agg ? setInterval(() => void agg.flush(), cfg.flush_interval_ms) : undefined;
  // Unfinished lines whose sender went quiet are taken as they are, a little after their timeout at most.
  const expireTimer =
    cfg.partial_line_timeout_ms > 0
      ? setInterval(
          () => {
            for (const { reassembler, rules } of listeners) for (const line of reassembler.expire()) engine.lines(line, rules, echo);
          },
          Math.min(500, cfg.partial_line_timeout_ms / 2),
        )
      : undefined;
  const summary = () => stats.summary(agg?.pendingIncrements ?? 0, agg?.pendingKeys ?? 0);
  const statsTimer = cfg.stats > 0 ? setInterval(() => log.info(`stats ${summary()}`), cfg.stats * 1000) : undefined;

  let stopping = false;
  let instruments: LocalInstruments | undefined;
  const unready = async () => {
    if (stopping) return ['shutting down'];
    const down = await redis?.unreachable();
    return down ? [`${down}; counts are held until it answers`] : [];
  };
  const pending = () => ({
    pending_increments: agg?.pendingIncrements ?? 0,
    pending_keys: agg?.pendingKeys ?? 0,
    partial_lines_held: listeners.reduce((n, l) => n + l.reassembler.held, 0),
  });
  return {
    bindings,
    stats,
    instruments: () => (instruments ??= localInstruments(agentFamilies(stats, pending), unready)),
    async stop() {
      stopping = true;
      clearInterval(flushTimer);
      clearInterval(statsTimer);
      clearInterval(expireTimer);
      descriptions?.stop();
      for (const s of sockets) s.close();
      for (const { reassembler, rules } of listeners) for (const line of reassembler.drain()) engine.lines(line, rules, echo);
      if (agg) {
        // Give Redis a few seconds to take what is pending; what it does not take is counted as lost.
        const deadline = Date.now() + 5000;
        while (agg.pendingIncrements > 0 && Date.now() < deadline) {
          await agg.flush();
          if (agg.pendingIncrements > 0) await new Promise((r) => setTimeout(r, 200));
        }
        if (agg.pendingIncrements > 0) {
          log.error(`shutting down with ${agg.pendingIncrements} increment(s) not written (redis unreachable); counted as dropped_at_shutdown`);
          agg.abandon();
        }
      }
      log.info(`final stats ${summary()}`);
      redis?.disconnect();
    },
  };
}
