/**
 * GossipSub configuration: every knob of the router with its default (from src/constants.ts
 * where the spec names one) and a validator that names the offending field.
 */
import {
  DEFAULT_GOSSIP_INTERVAL_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MESH_DEGREE,
  DEFAULT_MESH_DEGREE_HIGH,
  DEFAULT_MESH_DEGREE_LOW,
  DEFAULT_MESSAGE_CACHE_SIZE,
  DEFAULT_MESSAGE_CACHE_TTL_MS,
  MAX_VALUE_SIZE,
} from '../constants.js';
import { ConfigError } from '../errors.js';

/**
 * How a router forwards a message to its mesh peers:
 * - `adaptive` (default): full copies to the mesh links that recently delivered first, IHave
 *   (lazy push) to the rest; see the comment at the top of router.ts;
 * - `eager`: plain GossipSub v1.1: full copies to every mesh peer except the sender.
 */
export type PushMode = 'adaptive' | 'eager';

/** Score penalties (negative numbers are added to a peer's score). */
export interface GossipPenalties {
  invalidSignature: number;
  malformed: number;
  rateExceeded: number;
  /** Asked for by IWant after the peer's IHave, never delivered. */
  brokenPromise: number;
  /** Grafted while in the backoff we gave it. */
  backoffViolation: number;
}

/** GossipSub parameters: mesh degrees, caches, intervals, limits, push mode and peer penalties. */
export interface GossipConfig {
  /** D: target mesh peers per topic. */
  meshDegree: number;
  /** D_low: below this a heartbeat grafts back up to D. */
  meshDegreeLow: number;
  /** D_high: above this a heartbeat prunes down to D; grafts beyond it are refused. */
  meshDegreeHigh: number;
  /** D_lazy: minimum peers that receive periodic IHave gossip per topic. */
  lazyDegree: number;
  /** Share of the eligible non-mesh peers gossiped to, when more than lazyDegree. */
  gossipFactor: number;
  /** Bound of the seen-cache (deduplication) and of the message cache, entries. */
  messageCacheSize: number;
  /** How long a message id stays in the seen-cache, ms. */
  messageCacheTtlMs: number;
  /** History windows kept for IWant (one window per gossip interval). */
  historyLength: number;
  /** Most recent windows whose ids are announced in periodic IHave gossip. */
  historyGossip: number;
  /** Period of IHave gossip, ms (rounded to whole heartbeats). */
  gossipIntervalMs: number;
  /** Period of mesh maintenance, ms. */
  heartbeatIntervalMs: number;
  /** Fanout peers of a topic we publish to without subscribing are dropped this long after our last publish. */
  fanoutTtlMs: number;
  /** Backoff we ask for when pruning (and apply when pruned), ms. */
  pruneBackoffMs: number;
  /** Peers suggested in a Prune (peer exchange). */
  pxPeers: number;
  /** Largest accepted `data`, bytes. */
  maxMessageSize: number;
  /** Most topics one peer may subscribe to (as tracked by us). */
  maxTopicsPerPeer: number;
  /** Most peers tracked. */
  maxPeers: number;
  /** Per-peer rate limits, per second (bursts up to one second's worth). */
  maxRpcPerSecond: number;
  maxPublishPerSecond: number;
  /**
   * Ids a peer may announce (IHave) or ask for (IWant) per heartbeat. IWant is the tighter one:
   * each id asked costs us a full message sent.
   */
  maxIHaveIdsPerHeartbeat: number;
  maxIWantIdsPerHeartbeat: number;
  /** A full message is sent at most this many times to one peer in answer to IWant. */
  gossipRetransmission: number;
  /** Wait for a requested message before asking the next announcer, ms. */
  iwantFollowupMs: number;
  /** Adaptive push: delay before asking (IWant) for a message announced by a lazy link, ms. */
  lazyWaitMs: number;
  pushMode: PushMode;
  /** Adaptive push: never fewer eager (unchoked) mesh peers per topic than this. */
  eagerMin: number;
  /** Adaptive push: an eager link whose usefulness falls below this is choked (made lazy). */
  chokeThreshold: number;
  /** Adaptive push: a lazy link whose usefulness (IWants answered) rises to this is unchoked. */
  unchokeThreshold: number;
  /** Adaptive push: weight of one observation in the usefulness moving average. */
  usefulnessAlpha: number;
  /**
   * Latency-tiered mode (adaptive push; see router.ts): a tiered mesh, a wide seed and a first-hop
   * eager phase, once RTTs are known. Off by default: it costs a fixed ~300 full copies per
   * message, which pays off only in large topics (N=1000: 2.99 copies/delivery, hops within the
   * O(log N) bound; N=300: 3.5 copies/delivery).
   */
  latencyTiers: boolean;
  /**
   * Latency-tiered mesh (with latencyTiers): this many mesh slots go to the topic peers with the lowest known RTT
   * (RTTs come from observeRtt and from IHave/IWant round trips); the other slots stay random,
   * which in practice makes them long links to other regions. 0: a random mesh (plain GossipSub).
   * Capped at meshDegree.
   * Without RTT knowledge the mesh is random whatever this says.
   */
  meshNearQuota: number;
  /**
   * Adaptive push: the author of a message pushes it to at least this many topic peers (its mesh,
   * topped up with random topic peers): a wide first hop that enters every region at once.
   */
  publishPeers: number;
  /** Adaptive push: a node that got a message straight from its author pushes it to its whole mesh. */
  firstHopEager: boolean;
  /** With firstHopEager: such a node also tops its push up with random topic peers to this many. */
  firstHopPeers: number;
  /** Periodic IHave gossip to non-mesh peers (off for the eager-flood baseline). */
  gossipEnabled: boolean;
  penalties: GossipPenalties;
  /** Each heartbeat a negative score is multiplied by this (recovery of past faults). */
  scoreDecay: number;
  /** Below this score a peer gets no gossip and its IHave is ignored. */
  gossipThreshold: number;
  /** Below this score everything from the peer is ignored and it is dropped from every mesh. */
  graylistThreshold: number;
}

/** The default GossipSub configuration (src/constants.ts). */
export const DEFAULT_GOSSIP_CONFIG: Readonly<GossipConfig> = Object.freeze({
  meshDegree: DEFAULT_MESH_DEGREE,
  meshDegreeLow: DEFAULT_MESH_DEGREE_LOW,
  meshDegreeHigh: DEFAULT_MESH_DEGREE_HIGH,
  lazyDegree: DEFAULT_MESH_DEGREE,
  gossipFactor: 0.25,
  messageCacheSize: DEFAULT_MESSAGE_CACHE_SIZE,
  messageCacheTtlMs: DEFAULT_MESSAGE_CACHE_TTL_MS,
  historyLength: 5,
  historyGossip: 3,
  gossipIntervalMs: DEFAULT_GOSSIP_INTERVAL_MS,
  heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
  fanoutTtlMs: 60_000,
  pruneBackoffMs: 60_000,
  pxPeers: 16,
  maxMessageSize: MAX_VALUE_SIZE,
  maxTopicsPerPeer: 256,
  maxPeers: 1024,
  maxRpcPerSecond: 5_000,
  maxPublishPerSecond: 2_000,
  maxIHaveIdsPerHeartbeat: 5_000,
  maxIWantIdsPerHeartbeat: 1_000,
  gossipRetransmission: 3,
  iwantFollowupMs: 500,
  lazyWaitMs: 0,
  pushMode: 'adaptive',
  eagerMin: 2,
  chokeThreshold: 0.25,
  unchokeThreshold: 0.5,
  usefulnessAlpha: 0.1,
  latencyTiers: false,
  meshNearQuota: 3,
  publishPeers: 30,
  firstHopEager: true,
  firstHopPeers: 12,
  gossipEnabled: true,
  penalties: Object.freeze({
    invalidSignature: -20,
    malformed: -10,
    rateExceeded: -2,
    brokenPromise: -1,
    backoffViolation: -5,
  }),
  scoreDecay: 0.9,
  gossipThreshold: -10,
  graylistThreshold: -40,
});

/** Defaults overlaid with `opts`, validated; throws ConfigError naming the bad field. */
export function resolveGossipConfig(opts: Partial<GossipConfig> = {}): GossipConfig {
  const c: GossipConfig = {
    ...DEFAULT_GOSSIP_CONFIG,
    ...opts,
    penalties: { ...DEFAULT_GOSSIP_CONFIG.penalties, ...opts.penalties },
  };
  const int = (name: keyof GossipConfig, min: number): void => {
    const v = c[name] as number;
    if (!Number.isInteger(v) || v < min) throw new ConfigError(`gossip ${name} must be an integer >= ${min}, got ${v}`);
  };
  const num = (name: string, v: number, lo: number, hi: number): void => {
    if (!(v >= lo && v <= hi)) throw new ConfigError(`gossip ${name} must be in [${lo}, ${hi}], got ${v}`);
  };
  for (const k of [
    'meshDegree', 'meshDegreeLow', 'lazyDegree', 'messageCacheSize', 'historyLength', 'historyGossip',
    'gossipIntervalMs', 'heartbeatIntervalMs', 'maxMessageSize', 'maxTopicsPerPeer', 'maxPeers',
    'maxRpcPerSecond', 'maxPublishPerSecond', 'maxIHaveIdsPerHeartbeat', 'maxIWantIdsPerHeartbeat',
    'gossipRetransmission', 'iwantFollowupMs',
  ] as const) int(k, 1);
  for (const k of ['messageCacheTtlMs', 'fanoutTtlMs', 'pruneBackoffMs', 'pxPeers', 'lazyWaitMs', 'eagerMin', 'meshNearQuota', 'publishPeers', 'firstHopPeers'] as const) {
    int(k, 0);
  }
  int('meshDegreeHigh', 1);
  if (!(c.meshDegreeLow <= c.meshDegree && c.meshDegree <= c.meshDegreeHigh)) {
    throw new ConfigError(
      `gossip mesh degrees must satisfy meshDegreeLow <= meshDegree <= meshDegreeHigh, got ${c.meshDegreeLow}, ${c.meshDegree}, ${c.meshDegreeHigh}`,
    );
  }
  if (c.historyGossip > c.historyLength) {
    throw new ConfigError(`gossip historyGossip (${c.historyGossip}) must not exceed historyLength (${c.historyLength})`);
  }
  if (c.pruneBackoffMs > 0xffffffff) throw new ConfigError(`gossip pruneBackoffMs must fit in u32, got ${c.pruneBackoffMs}`);
  num('gossipFactor', c.gossipFactor, 0, 1);
  num('chokeThreshold', c.chokeThreshold, 0, 1);
  num('unchokeThreshold', c.unchokeThreshold, 0, 1);
  num('usefulnessAlpha', c.usefulnessAlpha, 0, 1);
  num('scoreDecay', c.scoreDecay, 0, 1);
  if (typeof c.latencyTiers !== 'boolean') throw new ConfigError(`gossip latencyTiers must be a boolean, got ${String(c.latencyTiers)}`);
  if (typeof c.firstHopEager !== 'boolean') throw new ConfigError(`gossip firstHopEager must be a boolean, got ${String(c.firstHopEager)}`);
  if (c.pushMode !== 'adaptive' && c.pushMode !== 'eager') {
    throw new ConfigError(`gossip pushMode must be 'adaptive' or 'eager', got '${String(c.pushMode)}'`);
  }
  for (const [k, v] of Object.entries(c.penalties)) {
    if (!(v <= 0 && Number.isFinite(v))) throw new ConfigError(`gossip penalties.${k} must be a finite number <= 0, got ${v}`);
  }
  if (!(c.graylistThreshold <= c.gossipThreshold && c.gossipThreshold <= 0)) {
    throw new ConfigError(
      `gossip thresholds must satisfy graylistThreshold <= gossipThreshold <= 0, got ${c.graylistThreshold}, ${c.gossipThreshold}`,
    );
  }
  return c;
}
