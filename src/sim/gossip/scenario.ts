/**
 * The GossipSub simulation scenario: N routers on the latency model, a random peer graph (each
 * node is given 20-30 random peers, as the DHT would), all subscribed to one topic, 1 KB messages
 * published from random live nodes; loss and crashed nodes optional. Each variant (plain eager
 * flood, plain GossipSub, our adaptive push) runs on the same seed: same keys, peer graph,
 * placement, crashes and publishers, so the columns of the report compare like with like.
 *
 * Phases per variant, in virtual time:
 *   1. every node subscribes (t = 0) and heartbeats (random phase) for `settleMs`: meshes form;
 *   2. the `failed` fraction crashes (silently: live peers notice after `failureDetectMs`);
 *   3. `warmupMessages` publications, unmeasured (push links settle);
 *   4. `messages` measured publications, one every `publishIntervalMs`; then `drainMs` for repair.
 */
import { ManualClock } from '../../core/clock.js';
import { SeededRng, shuffle } from '../../core/rng.js';
import { ConfigError } from '../../errors.js';
import { Keypair } from '../../identity/keypair.js';
import type { GossipConfig } from '../../pubsub/config.js';
import { memoizedVerifier, messageIdKey } from '../../pubsub/message.js';
import { summarize } from '../ground-truth.js';
import { LatencyModel } from '../latency.js';
import { GossipSimNet, type MessageTrace } from './network.js';
import {
  GOSSIP_VARIANTS,
  type GossipScenarioConfig,
  type GossipScenarioReport,
  type GossipVariant,
  type GossipVariantReport,
} from './report.js';

export type GossipScenarioOptions = Partial<GossipScenarioConfig> & {
  /** Router overrides applied to every variant (after the variant's own settings). */
  router?: Partial<GossipConfig>;
  onVariant?: (variant: GossipVariant) => void;
};

const TOPIC = 'sim/topic';

function variantConfig(v: GossipVariant, degree: number): Partial<GossipConfig> {
  const mesh: Partial<GossipConfig> = {
    meshDegree: degree,
    meshDegreeLow: Math.min(degree, 4),
    meshDegreeHigh: Math.max(degree, 12),
    // No peer stays in backoff across the short simulated runs' mesh churn.
    pruneBackoffMs: 10_000,
  };
  switch (v) {
    case 'eager-flood':
      return { ...mesh, pushMode: 'eager', gossipEnabled: false, meshNearQuota: 0 };
    case 'gossipsub':
      return { ...mesh, pushMode: 'eager', gossipEnabled: true, meshNearQuota: 0 };
    case 'adaptive':
      return { ...mesh, pushMode: 'adaptive', gossipEnabled: true };
    case 'tiered':
      return { ...mesh, pushMode: 'adaptive', gossipEnabled: true, latencyTiers: true };
  }
}

function resolve(opts: GossipScenarioOptions): GossipScenarioConfig {
  const c: GossipScenarioConfig = {
    nodes: opts.nodes ?? 1000,
    degree: opts.degree ?? 6,
    peersMin: opts.peersMin ?? 20,
    peersMax: opts.peersMax ?? 30,
    messages: opts.messages ?? 200,
    warmupMessages: opts.warmupMessages ?? 100,
    messageBytes: opts.messageBytes ?? 1024,
    publishIntervalMs: opts.publishIntervalMs ?? 50,
    loss: opts.loss ?? 0,
    failed: opts.failed ?? 0,
    failureDetectMs: opts.failureDetectMs ?? 10_000,
    settleMs: opts.settleMs ?? 10_000,
    drainMs: opts.drainMs ?? 5_000,
    seed: opts.seed ?? 1,
    latency: opts.latency ?? 'regions',
    rttHints: opts.rttHints ?? true,
    variants: opts.variants ?? [...GOSSIP_VARIANTS],
  };
  const int = (name: keyof GossipScenarioConfig, min: number): void => {
    const v = c[name] as number;
    if (!Number.isInteger(v) || v < min) throw new ConfigError(`gossip sim ${name} must be an integer >= ${min}, got ${v}`);
  };
  int('nodes', 2);
  int('degree', 1);
  int('peersMin', 1);
  int('peersMax', 1);
  int('messages', 1);
  int('warmupMessages', 0);
  int('messageBytes', 0);
  int('seed', 0);
  for (const k of ['publishIntervalMs', 'failureDetectMs', 'settleMs', 'drainMs'] as const) {
    if (!(c[k] >= 0)) throw new ConfigError(`gossip sim ${k} must be >= 0, got ${c[k]}`);
  }
  if (c.peersMax < c.peersMin) throw new ConfigError(`gossip sim peersMax (${c.peersMax}) must be >= peersMin (${c.peersMin})`);
  if (!(c.loss >= 0 && c.loss < 1)) throw new ConfigError(`gossip sim loss must be in [0, 1), got ${c.loss}`);
  if (!(c.failed >= 0 && c.failed < 1)) throw new ConfigError(`gossip sim failed must be in [0, 1), got ${c.failed}`);
  if (c.latency !== 'regions' && c.latency !== 'uniform') {
    throw new ConfigError(`gossip sim latency must be 'regions' or 'uniform', got '${String(c.latency)}'`);
  }
  for (const v of c.variants) if (!GOSSIP_VARIANTS.includes(v)) throw new ConfigError(`unknown gossip sim variant '${v}'`);
  return c;
}

/** What every variant shares: keys, addresses, peer graph, crash set, publisher sequence. */
interface World {
  keypairs: Keypair[];
  addrs: string[];
  peerLists: number[][];
  failed: number[];
  publishers: number[];
}

function buildWorld(c: GossipScenarioConfig): World {
  const root = new SeededRng(c.seed);
  const keyRng = root.fork();
  const graphRng = root.fork();
  const failRng = root.fork();
  const pubRng = root.fork();
  const keypairs: Keypair[] = [];
  const addrs: string[] = [];
  for (let i = 0; i < c.nodes; i++) {
    keypairs.push(Keypair.generate(keyRng.bytes(32)));
    addrs.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:4433`);
  }
  const peerLists: number[][] = [];
  for (let i = 0; i < c.nodes; i++) {
    const want = Math.min(c.nodes - 1, c.peersMin + graphRng.int(c.peersMax - c.peersMin + 1));
    const set = new Set<number>();
    while (set.size < want) {
      const j = graphRng.int(c.nodes);
      if (j !== i) set.add(j);
    }
    peerLists.push([...set]);
  }
  const failCount = Math.round(c.failed * c.nodes);
  const failed = shuffle(
    Array.from({ length: c.nodes }, (_, i) => i),
    failRng,
  ).slice(0, failCount);
  const down = new Set(failed);
  const live = Array.from({ length: c.nodes }, (_, i) => i).filter((i) => !down.has(i));
  const publishers: number[] = [];
  for (let m = 0; m < c.warmupMessages + c.messages; m++) publishers.push(live[pubRng.int(live.length)]!);
  return { keypairs, addrs, peerLists, failed, publishers };
}

function runVariant(
  c: GossipScenarioConfig,
  world: World,
  variant: GossipVariant,
  overrides: Partial<GossipConfig>,
): GossipVariantReport {
  const wall0 = performance.now();
  const clock = new ManualClock();
  const root = new SeededRng(c.seed ^ 0x5eed);
  const latency = new LatencyModel({ kind: c.latency, seed: root.fork().int(2 ** 31), lossRate: c.loss });
  for (const a of world.addrs) latency.addNode(a);
  const config = { ...variantConfig(variant, c.degree), ...overrides };
  const rngs = world.keypairs.map(() => root.fork());
  const net = new GossipSimNet({
    clock,
    latency,
    keypairs: world.keypairs,
    addrs: world.addrs,
    config,
    verifier: memoizedVerifier(),
    rngs,
  });
  const heartbeat = net.routers[0]!.config.heartbeatIntervalMs;
  const phaseRng = root.fork();

  // 1. peers, subscriptions, heartbeats
  world.peerLists.forEach((list, i) => {
    for (const j of list) {
      net.routers[i]!.addPeer(net.contacts[j]!);
      // What the transport knows of each connection: its smoothed RTT (here the model's base RTT).
      if (c.rttHints) net.routers[i]!.observeRtt(net.contacts[j]!.id, latency.rttMs(world.addrs[i]!, world.addrs[j]!));
    }
  });
  for (let i = 0; i < c.nodes; i++) {
    net.routers[i]!.subscribe(TOPIC);
    net.startHeartbeat(i, phaseRng.next() * heartbeat, heartbeat);
  }
  clock.advance(c.settleMs);

  // 2. crashes
  for (const f of world.failed) net.failed[f] = 1;
  clock.setTimer(c.failureDetectMs, () => {
    for (let i = 0; i < c.nodes; i++) {
      if (net.failed[i]) continue;
      for (const f of world.failed) net.routers[i]!.removePeer(net.contacts[f]!);
    }
  });

  // 3-4. publications
  const dataRng = root.fork();
  const traces: MessageTrace[] = [];
  world.publishers.forEach((src, m) => {
    if (m === c.warmupMessages) {
      net.counting = true;
    }
    const data = dataRng.bytes(c.messageBytes);
    const id = net.routers[src]!.publish(TOPIC, data);
    if (m >= c.warmupMessages) traces.push(net.trace(messageIdKey(id), src));
    clock.advance(c.publishIntervalMs);
  });
  clock.advance(c.drainMs);
  net.counting = false;
  // measurements
  const live = c.nodes - world.failed.length;
  const hops: number[] = [];
  const lat: number[] = [];
  let deliveries = 0;
  let copies = 0;
  for (const t of traces) {
    copies += t.copies;
    for (let i = 0; i < c.nodes; i++) {
      if (i === t.source || net.failed[i] || t.hops[i]! < 0) continue;
      deliveries++;
      hops.push(t.hops[i]!);
      lat.push(t.latency[i]!);
    }
  }
  let bytes = 0;
  for (let i = 0; i < c.nodes; i++) if (!net.failed[i]) bytes += net.bytesSent[i]!;
  const expected = traces.length * (live - 1);
  return {
    variant,
    deliveryRatio: deliveries / expected,
    deliveries,
    expected,
    copiesPerDelivery: deliveries === 0 ? 0 : copies / deliveries,
    hops: summarize(hops),
    overHopsBound: hops.filter((h) => h > hopsBound(c)).length,
    latencyMs: summarize(lat),
    bytesPerNode: bytes / live,
    messagesPerNode: net.sent / live,
    sentByType: Object.fromEntries([...net.byType].map(([t, n]) => [t, n / live])),
    eagerLinksPerNode: eagerLinks(net, c.nodes),
    wallMs: performance.now() - wall0,
  };
}

/** Mean mesh links per live node on which full copies are pushed (D for the eager variants). */
function eagerLinks(net: GossipSimNet, n: number): number {
  let sum = 0;
  let live = 0;
  for (let i = 0; i < n; i++) {
    if (net.failed[i]) continue;
    live++;
    const r = net.routers[i]!;
    sum += r.config.pushMode === 'adaptive' ? r.eagerPeers(TOPIC).length : r.meshPeers(TOPIC).length;
  }
  return live === 0 ? 0 : sum / live;
}

/** The goal's bound on hops: 2 log2(N) / log2(D) + 2. */
function hopsBound(c: GossipScenarioConfig): number {
  return (2 * Math.log2(c.nodes)) / Math.log2(c.degree) + 2;
}

/** Run every requested variant on the same seeded world; see the module comment. */
export function runGossipScenario(opts: GossipScenarioOptions = {}): GossipScenarioReport {
  const c = resolve(opts);
  const world = buildWorld(c);
  const variants = c.variants.map((v) => {
    opts.onVariant?.(v);
    return runVariant(c, world, v, opts.router ?? {});
  });
  return {
    config: c,
    live: c.nodes - world.failed.length,
    hopsBound: hopsBound(c),
    variants,
  };
}
