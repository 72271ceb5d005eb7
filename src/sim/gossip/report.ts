/**
 * The gossip scenario's configuration and outcome, and its rendering as a side-by-side table of
 * the variants with the goals. Everything except `wallMs` is a pure function of the configuration.
 */
import type { Summary } from '../ground-truth.js';
import type { LatencyKind } from '../latency.js';

/**
 * - `eager-flood`: plain eager push: every node forwards to its D mesh peers, no gossip, no repair;
 * - `gossipsub`: plain GossipSub v1.1: the same eager mesh push plus IHave/IWant gossip;
 * - `adaptive`: this router's default (eager on useful links, lazy IHave elsewhere; router.ts);
 * - `tiered`: adaptive plus the latency-tiered mode (latencyTiers: tiered mesh, wide seed,
 *   first-hop eager phase; router.ts), fed each connection's RTT as a transport would.
 */
export type GossipVariant = 'eager-flood' | 'gossipsub' | 'adaptive' | 'tiered';
export const GOSSIP_VARIANTS: readonly GossipVariant[] = ['eager-flood', 'gossipsub', 'adaptive', 'tiered'];

export interface GossipScenarioConfig {
  nodes: number;
  /** D (meshDegree); D_low/D_high stay at their defaults unless D falls outside them. */
  degree: number;
  /** Each node is given a uniform [min, max] number of random peers, as a DHT would. */
  peersMin: number;
  peersMax: number;
  /** Messages measured, after `warmupMessages` unmeasured ones (mesh and push links settle). */
  messages: number;
  warmupMessages: number;
  messageBytes: number;
  /** Virtual ms between two publications (from random live nodes). */
  publishIntervalMs: number;
  /** Per-message loss probability. */
  loss: number;
  /** Fraction of the nodes that crash before the warm-up. */
  failed: number;
  /** Live nodes learn of a crashed peer this long after the crash (QUIC idle timeout). */
  failureDetectMs: number;
  /** Virtual ms of heartbeats before the first publication (mesh formation). */
  settleMs: number;
  /** Virtual ms run after the last publication (repair). */
  drainMs: number;
  seed: number;
  latency: LatencyKind;
  /** Routers are told each peer's RTT when connected (as a transport's smoothed RTT would). */
  rttHints: boolean;
  variants: GossipVariant[];
}

export interface GossipVariantReport {
  variant: GossipVariant;
  /** Deliveries / (measured messages x live subscribers other than the source). */
  deliveryRatio: number;
  deliveries: number;
  expected: number;
  /** Full copies received by live nodes / deliveries (1 = no duplicate at all). */
  copiesPerDelivery: number;
  hops: Summary;
  /** Deliveries whose hop count exceeds the goal bound 2 log2(N)/log2(D) + 2. */
  overHopsBound: number;
  /** Virtual ms from publication to delivery. */
  latencyMs: Summary;
  /** Wire bytes (all pubsub traffic) sent per live node during the measured phase. */
  bytesPerNode: number;
  /** Messages sent per live node during the measured phase, in all and by type. */
  messagesPerNode: number;
  sentByType: Record<string, number>;
  /** Mesh links per live node that carry full copies at the end of the run. */
  eagerLinksPerNode: number;
  /** Host-dependent. */
  wallMs: number;
}

export interface GossipScenarioReport {
  config: GossipScenarioConfig;
  live: number;
  /** The goal bound on max hops: 2 log2(N) / log2(D) + 2. */
  hopsBound: number;
  variants: GossipVariantReport[];
}

function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

/** A text table: one column per variant, one row per measure. */
export function formatGossipReport(r: GossipScenarioReport): string {
  const c = r.config;
  const head =
    `gossip sim: N=${c.nodes} (live ${r.live}), D=${c.degree}, peers ${c.peersMin}-${c.peersMax}, ` +
    `${c.messages} msgs x ${c.messageBytes} B (+${c.warmupMessages} warm-up), loss ${c.loss * 100}%, ` +
    `failed ${c.failed * 100}%, latency ${c.latency}, seed ${c.seed}`;
  const rows: [string, (v: GossipVariantReport) => string][] = [
    ['delivery ratio', (v) => `${(v.deliveryRatio * 100).toFixed(3)}%`],
    ['copies / delivery', (v) => fmt(v.copiesPerDelivery)],
    ['hops p50 / p95 / max', (v) => `${v.hops.p50} / ${v.hops.p95} / ${v.hops.max}`],
    ['deliveries > hop bound', (v) => `${v.overHopsBound} (${fmt((100 * v.overHopsBound) / Math.max(1, v.deliveries), 3)}%)`],
    ['latency p50 (ms)', (v) => fmt(v.latencyMs.p50, 1)],
    ['latency p95 (ms)', (v) => fmt(v.latencyMs.p95, 1)],
    ['KB sent / node', (v) => fmt(v.bytesPerNode / 1024, 1)],
    ['msgs sent / node', (v) => fmt(v.messagesPerNode, 0)],
    ['  Publish/IHave/IWant', (v) => ['Publish', 'IHave', 'IWant'].map((t) => fmt(v.sentByType[t] ?? 0, 0)).join('/')],
    ['eager links / node', (v) => fmt(v.eagerLinksPerNode, 1)],
    ['wall (s)', (v) => fmt(v.wallMs / 1000, 1)],
  ];
  const width = 24;
  const colW = 20;
  const lines = [head, ''.padEnd(width) + r.variants.map((v) => v.variant.padStart(colW)).join('')];
  for (const [name, f] of rows) lines.push(name.padEnd(width) + r.variants.map((v) => f(v).padStart(colW)).join(''));
  lines.push(`max-hops bound 2*log2(N)/log2(D)+2 = ${fmt(r.hopsBound, 1)}`);
  return lines.join('\n');
}
