/**
 * RendezvousService: runs the sans-IO HolePunchCoordinator over a MeshNode (relay nodes do, since
 * every node behind NAT keeps a link to them). It serves HolePunchRegister / HolePunchStart,
 * records each sender's observed (reflexive) address from every message it sends, delivers the
 * coordinator's HolePunchReady / HolePunchFailed effects as one-way messages, and expires waiting
 * registrations on the clock. Metric: quicmesh_holepunch_rendezvous_total (the coordinator's).
 */
import type { TimerHandle } from '../core/clock.js';
import { HolePunchCoordinator, type HolePunchCoordinatorOptions, type PunchEffect } from '../nat/hole-punch.js';
import type { PeerInfo } from '../transport/transport.js';
import type { TraversalNode } from './host.js';

/** Settings of a RendezvousService: the HolePunchCoordinator's window and limits, and the sweep period. */
export interface RendezvousOptions extends Omit<HolePunchCoordinatorOptions, 'metrics'> {
  /** Sweep period for expired registrations, ms. Default 1 000. */
  sweepMs?: number;
}

/** Coordinates hole punches for other nodes (relays run it): a HolePunchCoordinator over the node's messages. */
export class RendezvousService {
  readonly coordinator: HolePunchCoordinator;
  private readonly sweepMs: number;
  private readonly seen = new Map<string, string>();
  private timer: TimerHandle | undefined;
  private stopPeers: (() => void) | undefined;
  private running = false;

  constructor(
    private readonly node: TraversalNode,
    opts: RendezvousOptions = {},
  ) {
    const { sweepMs, ...coord } = opts;
    this.sweepMs = sweepMs ?? 1_000;
    this.coordinator = new HolePunchCoordinator({ ...coord, metrics: node.components.metrics });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const party = (peer: PeerInfo) => ({ contact: { id: peer.nodeId, addr: peer.addr }, observedAddr: peer.addr });
    this.node.handle('HolePunchRegister', (peer, msg) => {
      const out = this.coordinator.register(party(peer), msg, this.node.components.clock.now());
      this.apply(out.effects);
      return out.reply;
    });
    this.node.handle('HolePunchStart', (peer, msg) => {
      const out = this.coordinator.start(party(peer), msg);
      this.apply(out.effects);
      return out.reply;
    });
    this.stopPeers = this.node.onPeerSeen((peer) => {
      const hex = Buffer.from(peer.nodeId).toString('hex');
      if (this.seen.get(hex) === peer.addr) return;
      this.seen.set(hex, peer.addr);
      this.coordinator.peerSeen(party(peer));
    });
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.stopPeers?.();
  }

  private apply(effects: PunchEffect[]): void {
    for (const e of effects) {
      this.node.notify({ nodeId: e.to.id, addr: e.to.addr }, e.msg).catch((err: unknown) => {
        this.node.components.logger.debug('rendezvous notify failed', { to: e.to.addr, error: String(err) });
      });
    }
  }

  private schedule(): void {
    this.timer = this.node.components.clock.setTimer(this.sweepMs, () => {
      if (!this.running) return;
      this.apply(this.coordinator.tick(this.node.components.clock.now()));
      this.schedule();
    });
  }
}
