/**
 * The shape of one DHT simulation's outcome, and its rendering as a text table. Everything
 * outside `perf` is a pure function of the configuration (seed included): the determinism test
 * compares whole results with `perf` removed.
 */
import type { Summary } from './ground-truth.js';
import type { LatencyKind } from './latency.js';
import type { SimStack } from './dht-host.js';

export interface DhtSimConfig {
  nodes: number;
  lookups: number;
  /** Fraction of the nodes taken down after bootstrap, before the lookups. */
  churn: number;
  /** Continuous churn during the lookup phase: node departures per virtual second. */
  leaveRate: number;
  /** Continuous churn during the lookup phase: node arrivals (joins) per virtual second. */
  joinRate: number;
  seed: number;
  /** Tier-aware lookups (DhtNode option tierAware; default true like the DHT's own default). */
  tiering: boolean;
  latency: LatencyKind;
  loss: number;
  k: number;
  alpha: number;
  /** Known nodes each joining node bootstraps from. */
  bootstrapContacts: number;
  /** Lookups in flight at once during the lookup phase. */
  concurrency: number;
  /** Bucket-refresh lookups a joining node runs after its self-lookup (0: self-lookup only). */
  joinRefresh: number;
  /** Result size (and termination set) of the measured lookups; 0: the node's current k. */
  lookupK: number;
  /** Plumbing under the DHT: 'lean' (SimNetwork endpoints) or 'mesh' (MeshNode + MemoryTransport). */
  stack: SimStack;
}

export interface DhtSimResult {
  config: DhtSimConfig;
  nodes: {
    total: number;
    live: number;
    churned: number;
    /** Nodes that left during the lookup phase (continuous churn). */
    left: number;
    /** Nodes that joined during the lookup phase (continuous churn). */
    joined: number;
    /** Nodes whose bootstrap threw (they stay in the network with whatever they learned). */
    bootstrapFailures: number;
  };
  bootstrap: {
    /** Virtual time the whole join phase took. */
    virtualMs: number;
    /** Requests sent network-wide during the join phase. */
    messages: number;
  };
  lookups: {
    count: number;
    /** Lookups whose result contained the true closest live node to the target. */
    succeeded: number;
    /** Lookups that threw instead of returning. */
    errors: number;
    successRate: number;
    rounds: Summary;
    hopsToClosest: Summary;
    /** Virtual ms from the lookup's start to its result. */
    latencyMs: Summary;
    /** Requests the looking-up node sent for the lookup. */
    messages: Summary;
  };
  /** Timer callbacks (deliveries, timeouts, ...) the scheduler fired in the whole run. */
  events: number;
  /** Distinct virtual instants processed (each costs one event-loop turn). */
  batches: number;
  /** Host-dependent measurements: not part of the deterministic result. */
  perf: {
    wallMs: { setup: number; bootstrap: number; lookups: number; total: number };
    /** CPU time (user + system) of the process during the run: wall time minus waiting for a busy machine. */
    cpuMs: number;
    eventsPerSec: number;
    peakRssMb: number;
    peakHeapMb: number;
  };
}

const fmt = (n: number, digits = 1): string => (Number.isInteger(n) ? String(n) : n.toFixed(digits));
const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const row = (label: string, s: Summary, unit = ''): [string, string] => [
  label,
  `p50 ${fmt(s.p50)}${unit}  p95 ${fmt(s.p95)}${unit}  max ${fmt(s.max)}${unit}  mean ${fmt(s.mean, 2)}${unit}`,
];

/** A two-column human-readable table of a result. */
export function formatDhtSimTable(r: DhtSimResult): string {
  const c = r.config;
  const rows: [string, string][] = [
    [
      'nodes',
      `${r.nodes.total} (live ${r.nodes.live}, churned ${r.nodes.churned}, left ${r.nodes.left}, joined ${r.nodes.joined}, ` +
        `bootstrap failures ${r.nodes.bootstrapFailures})`,
    ],
    [
      'parameters',
      `k=${c.k} alpha=${c.alpha} tiering=${c.tiering ? 'on' : 'off'} latency=${c.latency} loss=${c.loss} seed=${c.seed} stack=${c.stack}`,
    ],
    ['bootstrap', `${fmt(r.bootstrap.virtualMs / 1000, 1)} s virtual, ${r.bootstrap.messages} requests`],
    ['lookups', `${r.lookups.count} (${c.concurrency} in flight), errors ${r.lookups.errors}`],
    ['success rate', `${pct(r.lookups.successRate)} (${r.lookups.succeeded}/${r.lookups.count})`],
    row('rounds', r.lookups.rounds),
    row('hops to closest', r.lookups.hopsToClosest),
    row('lookup latency', r.lookups.latencyMs, ' ms'),
    row('messages/lookup', r.lookups.messages),
    ['events', `${r.events} in ${r.batches} batches (${fmt(r.perf.eventsPerSec / 1000, 0)}k/s)`],
    [
      'wall time',
      `${fmt(r.perf.wallMs.total / 1000, 2)} s (setup ${fmt(r.perf.wallMs.setup / 1000, 2)}, bootstrap ${fmt(
        r.perf.wallMs.bootstrap / 1000,
        2,
      )}, lookups ${fmt(r.perf.wallMs.lookups / 1000, 2)}); cpu ${fmt(r.perf.cpuMs / 1000, 2)} s`,
    ],
    ['peak memory', `rss ${fmt(r.perf.peakRssMb, 0)} MB, heap ${fmt(r.perf.peakHeapMb, 0)} MB`],
  ];
  const w = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, v]) => `${l.padEnd(w)}  ${v}`).join('\n');
}
