/**
 * PathRecorder: keeps the ConnectionManager's per-peer path state (and so its metrics:
 * quicmesh_path_state{kind}, quicmesh_path_rtt_seconds, quicmesh_path_upgrades_total,
 * quicmesh_path_failures_total) in step with what probePeer actually does. probePeer runs the
 * steps itself (direct, then punch, then relay); each step's outcome is fed to the peer's
 * SmartConnectPlan as the matching input, so the plan's state is the path the probe ended on.
 * The plan's own effects are not executed, and its timers are never ticked.
 */
import type { Components } from '../core/components.js';
import type { NodeId } from '../core/types.js';
import { ConnectionManager, type PeerStats } from '../connection/connection-manager.js';

/** Far beyond any probe: the plan's direct deadline must never decide for the probe. */
const NEVER_MS = 24 * 3_600_000;

export class PathRecorder {
  readonly manager: ConnectionManager;
  private readonly sessions = new Map<string, Uint8Array>();

  constructor(private readonly components: Components) {
    this.manager = new ConnectionManager({
      rng: components.rng,
      metrics: components.metrics,
      directTimeoutMs: NEVER_MS,
      relayTimeoutMs: NEVER_MS,
    });
  }

  /** A probe starts: forget the old path (a fresh probe closed it) and begin a plan. */
  begin(peer: NodeId, addr: string, opts: { relay: boolean; punch: boolean }): void {
    this.manager.remove(peer);
    const relayId = peer; // stands for "some relay": the probe picks the real one itself
    const relays = opts.relay ? [{ relayId, addrs: [] as string[] }] : [];
    this.manager.connect(
      { peerId: peer, addrs: [addr], relays, rendezvous: opts.punch ? { id: relayId, addr } : null },
      this.now(),
    );
  }

  direct(peer: NodeId, addr: string, ok: boolean): void {
    this.feed(peer, ok ? { kind: 'dialSucceeded', addr } : { kind: 'dialFailed', addr });
  }

  punched(peer: NodeId, addr: string | null): void {
    this.feed(peer, addr !== null ? { kind: 'punchSucceeded', addr } : { kind: 'punchFailed', reason: 'no answer' });
  }

  relayed(peer: NodeId, ok: boolean): void {
    const sessionId = this.sessions.get(hex(peer));
    if (sessionId === undefined) return;
    if (ok) {
      this.feed(peer, { kind: 'relayAccepted', sessionId });
      this.feed(peer, { kind: 'relayConnected', sessionId });
    } else {
      this.feed(peer, { kind: 'relayFailed', sessionId, reason: 'relay session failed' });
    }
  }

  /** The probe released its path (a relay session it closed): the peer has no path any more. */
  released(peer: NodeId): void {
    this.manager.remove(peer);
  }

  rtt(peer: NodeId, rttMs: number): void {
    this.manager.recordRtt(peer, rttMs);
  }

  stats(peer: NodeId): PeerStats | undefined {
    return this.manager.stats(peer);
  }

  private feed(peer: NodeId, ev: Parameters<ConnectionManager['input']>[1]): void {
    for (const e of this.manager.input(peer, ev, this.now())) {
      // remember the session the plan would open, so its relay outcome can be reported
      if (e.kind === 'relayConnect') this.sessions.set(hex(peer), e.sessionId);
    }
  }

  private now(): number {
    return this.components.clock.now();
  }
}

function hex(id: NodeId): string {
  return Buffer.from(id).toString('hex');
}
