/** rkvdns's /metrics families, read from its counters and gauges at scrape time (the places are in counters.ts). */
import { buildInfo, histogramSamples, type Family, type Sample } from '../common/metrics.js';
import { SOJOURN_BOUNDS, type Sojourn } from '../dns/udp.js';
import { COUNTER_FAMILIES, COUNTER_METRICS, gaugeFamilies, REDIS_SECONDS_BOUNDS, REDIS_SECONDS_HELP, UDP_SOJOURN_HELP, type Counter } from './counters.js';
import type { Gauges, ServerStats } from './stats.js';

const NO_SOJOURN: Sojourn = { counts: new Array<number>(SOJOURN_BOUNDS.length + 1).fill(0), seconds: 0 };

/**
 * `read` at most once per turn of the event loop. A scrape collects every family in one turn, and the gauges are one
 * read (the UDP addon's stats are a native call, and the counters are brought up to date first), not one per family.
 */
function oncePerTurn<T>(read: () => T): () => T {
  let held: T | undefined;
  return () => {
    if (held === undefined) {
      held = read();
      queueMicrotask(() => (held = undefined));
    }
    return held;
  };
}

export function rkvdnsFamilies(stats: ServerStats, allGauges: () => Gauges, sojourn: () => Sojourn | null): Family[] {
  const gauges = oncePerTurn(allGauges);
  const counters = Object.entries(COUNTER_METRICS) as [Counter, (typeof COUNTER_METRICS)[Counter]][];
  const counterFamilies = Object.entries(COUNTER_FAMILIES).map(([family, help]): Family => ({
    name: `rkvdns_${family}`,
    help,
    type: 'counter',
    // Every label set from the start, at 0, so rates and alerts have a series before the first event.
    samples: () => counters.filter(([, [f]]) => f === family).map(([c, [, labels]]): Sample => ({ labels, value: stats.get(c) })),
  }));
  const gaugeFamilyList = gaugeFamilies().map((f): Family => ({
    name: f.name,
    help: f.help,
    type: f.type,
    samples: () => f.members.map(([g, labels]) => ({ labels, value: gauges()[g] ?? 0 })),
  }));
  return [
    ...counterFamilies,
    ...gaugeFamilyList,
    {
      name: 'rkvdns_redis_seconds',
      help: REDIS_SECONDS_HELP,
      type: 'histogram',
      samples: () => histogramSamples('rkvdns_redis_seconds', REDIS_SECONDS_BOUNDS, stats.redisBuckets, stats.redisSeconds),
    },
    {
      name: 'rkvdns_udp_sojourn_seconds',
      help: UDP_SOJOURN_HELP,
      type: 'histogram',
      samples: () => {
        const h = sojourn() ?? NO_SOJOURN;
        return histogramSamples('rkvdns_udp_sojourn_seconds', SOJOURN_BOUNDS, h.counts, h.seconds);
      },
    },
    buildInfo('rkvdns'),
  ];
}
