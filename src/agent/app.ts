/**
 * The running agent: one UDP socket per distinct address:port, each feeding the rules bound there into the
 * engine; increments go to the aggregator (or to stdout in test mode). Stats are logged periodically and at
 * shutdown, after a final flush.
 */
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
import type { Rule } from './rules.js';
import { agentFamilies } from './counters.js';
import { AgentStats } from './stats.js';
import { connectAgentRedis, redisBatchWriter } from './writer.js';

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
    aggregator = new Aggregator(redisBatchWriter(redis), stats, log, cfg.max_pending_keys, cfg.flush_keys);
  }
  const agg = aggregator;
  const engine = new Engine(stats, log, opts.test || !agg ? (key) => out(key) : (key, rule) => agg.add(key, rule.ttl));
  const echo = opts.printLines ? (line: string) => out(`line: ${line}`) : undefined;

  const groups = new Map<string, Rule[]>();
  for (const r of cfg.rules) {
    const id = `${r.address}|${r.port}`;
    groups.set(id, [...(groups.get(id) ?? []), r]);
  }
  const sockets: dgram.Socket[] = [];
  const bindings: RunningAgent['bindings'] = [];
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
    sock.on(
      'message',
      allowed
        ? (msg, rinfo) => {
            if (allowed.has(clientOf(rinfo.address, rinfo.port))) engine.datagram(msg, rules, echo);
            else stats.dropped_not_allowed++;
          }
        : (msg) => engine.datagram(msg, rules, echo),
    );
    sock.on('error', (e) => log.error(`udp ${address}:${port}: ${e.message}`));
    sockets.push(sock);
    bindings.push({ address, port: sock.address().port, rules: rules.map((r) => r.name) });
  }

  const flushTimer = agg ? setInterval(() => void agg.flush(), cfg.flush_interval_ms) : undefined;
  const summary = () => stats.summary(agg?.pendingIncrements ?? 0, agg?.pendingKeys ?? 0);
  const statsTimer = cfg.stats > 0 ? setInterval(() => log.info(`stats ${summary()}`), cfg.stats * 1000) : undefined;

  let stopping = false;
  let instruments: LocalInstruments | undefined;
  const unready = async () => {
    if (stopping) return ['shutting down'];
    const down = await redis?.unreachable();
    return down ? [`${down}; counts are held until it answers`] : [];
  };
  const pending = () => ({ pending_increments: agg?.pendingIncrements ?? 0, pending_keys: agg?.pendingKeys ?? 0 });
  return {
    bindings,
    stats,
    instruments: () => (instruments ??= localInstruments(agentFamilies(stats, pending), unready)),
    async stop() {
      stopping = true;
      clearInterval(flushTimer);
      clearInterval(statsTimer);
      for (const s of sockets) s.close();
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
