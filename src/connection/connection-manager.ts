/**
 * The connection manager core (spec: ConnectionManager, ConnectionStats): one SmartConnectPlan
 * per peer, all running side by side (each is an independent state machine, so "parallel" is
 * just the driver executing their effects concurrently). A second connect to a peer whose plan
 * is connecting or connected joins it instead of starting another (dedupe). It keeps per-peer
 * statistics and the path metrics:
 *   quicmesh_path_state{kind}         gauge: peers per state (Direct, HolePunched, Relayed, RelayPending, Connecting, Failed, Idle)
 *   quicmesh_path_rtt_seconds         histogram of RTT samples on the selected path
 *   quicmesh_path_upgrades_total      counter: relay → direct upgrades
 *   quicmesh_path_failures_total      counter: connects that failed and connections lost
 * (The relay-side quicmesh_relay_sessions / quicmesh_relay_bytes_total are RelayServer's.)
 */
import { toHex } from '../core/bytes.js';
import type { Rng } from '../core/rng.js';
import type { NodeId } from '../core/types.js';
import { noopMetrics, type Counter, type Gauge, type Histogram, type Metrics } from '../metrics/metrics.js';
import {
  SmartConnectPlan,
  type SmartConnectOptions,
  type SmartConnectTarget,
  type SmartEffect,
  type SmartInput,
} from './smart-connection.js';

/** A hole-punched path is direct, but counted apart so users see how their peers were reached. */
export type PeerPathKind = 'Direct' | 'HolePunched' | 'Relayed' | 'RelayPending' | 'Connecting' | 'Failed' | 'Idle';
const KINDS: PeerPathKind[] = ['Direct', 'HolePunched', 'Relayed', 'RelayPending', 'Connecting', 'Failed', 'Idle'];

/** One peer's connection: path kind, RTT, upgrades and failures. */
export interface PeerStats {
  peerId: NodeId;
  kind: PeerPathKind;
  /** Smoothed RTT on the current path, ms. */
  rttMs: number | null;
  upgrades: number;
  failures: number;
}

/** An effect of one peer's plan. */
export type PeerEffect = SmartEffect & { peer: NodeId };

/** ConnectionManager options: those of each plan, and metrics. */
export interface ConnectionManagerOptions extends Omit<SmartConnectOptions, 'rng'> {
  rng: Rng;
  metrics?: Metrics;
}

interface Entry {
  plan: SmartConnectPlan;
  rttMs: number | null;
}

/** One SmartConnectPlan per peer, with their path kinds and RTTs as metrics. */
export class ConnectionManager {
  private readonly peers = new Map<string, Entry>();
  private readonly mState: Gauge;
  private readonly mRtt: Histogram;
  private readonly mUpgrades: Counter;
  private readonly mFailures: Counter;

  constructor(private readonly opts: ConnectionManagerOptions) {
    const m = opts.metrics ?? noopMetrics;
    this.mState = m.gauge('quicmesh_path_state', 'Peers by connection path state', ['kind']);
    this.mRtt = m.histogram('quicmesh_path_rtt_seconds', 'RTT of the selected path to a peer', [], [
      0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    ]);
    this.mUpgrades = m.counter('quicmesh_path_upgrades_total', 'Relayed connections upgraded to direct');
    this.mFailures = m.counter('quicmesh_path_failures_total', 'Connects that failed and connections lost');
  }

  /**
   * Connect to `target.peerId`. When a plan for that peer is already connecting or connected,
   * nothing new starts (`deduped`); a failed or idle plan starts again.
   */
  connect(target: SmartConnectTarget, now: number): { effects: PeerEffect[]; deduped: boolean } {
    const key = toHex(target.peerId);
    let e = this.peers.get(key);
    if (e !== undefined && (e.plan.phase === 'connecting' || e.plan.phase === 'connected')) {
      return { effects: [], deduped: true };
    }
    if (e === undefined) {
      const { metrics: _m, rng, ...planOpts } = this.opts;
      e = { plan: new SmartConnectPlan(target, { ...planOpts, rng }), rttMs: null };
      this.peers.set(key, e);
    }
    const entry = e;
    return { effects: this.run(entry, () => entry.plan.start(now)), deduped: false };
  }

  /** Feed a driver outcome for `peer`'s plan (ignored for unknown peers). */
  input(peer: NodeId, ev: SmartInput, now: number): PeerEffect[] {
    const e = this.peers.get(toHex(peer));
    return e === undefined ? [] : this.run(e, () => e.plan.input(ev, now));
  }

  /** An RTT sample on the peer's current path (from its PathProber). */
  recordRtt(peer: NodeId, rttMs: number): void {
    const e = this.peers.get(toHex(peer));
    if (e === undefined || !Number.isFinite(rttMs) || rttMs < 0) return;
    e.rttMs = e.rttMs === null ? rttMs : e.rttMs * 0.875 + rttMs * 0.125;
    this.mRtt.observe(rttMs / 1000);
  }

  tick(now: number): PeerEffect[] {
    const out: PeerEffect[] = [];
    for (const e of this.peers.values()) {
      const at = e.plan.nextAt();
      if (at !== undefined && at <= now) out.push(...this.run(e, () => e.plan.tick(now)));
    }
    return out;
  }

  nextAt(): number | undefined {
    let next: number | undefined;
    for (const e of this.peers.values()) {
      const at = e.plan.nextAt();
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  /** Forget a peer (after the driver closed its connection). */
  remove(peer: NodeId): void {
    this.peers.delete(toHex(peer));
    this.publishStates();
  }

  plan(peer: NodeId): SmartConnectPlan | undefined {
    return this.peers.get(toHex(peer))?.plan;
  }

  stats(peer: NodeId): PeerStats | undefined {
    const e = this.peers.get(toHex(peer));
    return e === undefined ? undefined : this.statsOf(e);
  }

  allStats(): PeerStats[] {
    return [...this.peers.values()].map((e) => this.statsOf(e));
  }

  private statsOf(e: Entry): PeerStats {
    return { peerId: e.plan.target.peerId, kind: kindOf(e.plan), rttMs: e.rttMs, upgrades: e.plan.upgrades, failures: e.plan.failures };
  }

  /** Run one plan step, then count what changed and tag the effects with the peer. */
  private run(e: Entry, step: () => SmartEffect[]): PeerEffect[] {
    const peer = e.plan.target.peerId;
    const [upgrades, failures] = [e.plan.upgrades, e.plan.failures];
    const effects = step();
    if (e.plan.upgrades > upgrades) {
      this.mUpgrades.inc(undefined, e.plan.upgrades - upgrades);
      e.rttMs = null; // a new path: its RTT starts over
    }
    if (e.plan.failures > failures) this.mFailures.inc(undefined, e.plan.failures - failures);
    if (effects.length > 0) this.publishStates();
    return effects.map((ef) => ({ ...ef, peer }));
  }

  private publishStates(): void {
    const counts = new Map<PeerPathKind, number>(KINDS.map((k) => [k, 0]));
    for (const e of this.peers.values()) {
      const k = kindOf(e.plan);
      counts.set(k, counts.get(k)! + 1);
    }
    for (const [kind, n] of counts) this.mState.set(n, { kind });
  }
}

function kindOf(plan: SmartConnectPlan): PeerPathKind {
  const c = plan.connection;
  if (c !== null) return c.kind === 'Direct' && c.via === 'hole-punched' ? 'HolePunched' : c.kind;
  switch (plan.phase) {
    case 'connecting':
      return 'Connecting';
    case 'failed':
      return 'Failed';
    default:
      return 'Idle';
  }
}
