/**
 * RelayService: runs the sans-IO RelayServer over a MeshNode (a node started with `--relay`).
 * It serves RelayConnect / RelayForward / RelayClose, carries out the server's effects as one-way
 * messages (over the connection the target already holds to us, which the transport reuses by
 * NodeId — that is how a node behind NAT is reached), learns which nodes are connected from every
 * message they send (clients keep a Ping going), and closes idle sessions on the clock.
 * Metrics (quicmesh_relay_*) are RelayServer's own, plus quicmesh_relay_frames_total{result}.
 *
 * Data plane: on a transport with DATAGRAM frames (QUIC), relayed connections send their packets as
 * relay frames (src/nat/relay/relay-datagram.ts) on their links; each frame is admitted by the
 * server core (membership, bandwidth) and passed on unchanged over the other party's link.
 */
import { shortHex, toHex } from '../core/bytes.js';
import type { TimerHandle } from '../core/clock.js';
import type { NodeId } from '../core/types.js';
import { errorMessage } from '../errors.js';
import type { Counter } from '../metrics/metrics.js';
import { decodeRelayFrame } from '../nat/relay/relay-datagram.js';
import { capability } from '../transport/capabilities.js';
import { RelayServer, type RelayEffect, type RelayServerOptions } from '../nat/relay/relay-server.js';
import type { PeerInfo } from '../transport/transport.js';
import type { RelayClose, RelayConnect, RelayForward, Response } from '../wire/messages.js';
import type { TraversalNode } from './host.js';

/** Settings of a node's relay service: the RelayServer's limits and timeouts, and the sweep period. */
export interface RelayServiceOptions extends Omit<RelayServerOptions, 'metrics'> {
  /** How often idle sessions and stale offers are swept, ms. Default 1 000. */
  sweepMs?: number;
}

/** A relay's status section: sessions, load, bytes relayed, connected peers. */
export interface RelayStatus {
  sessions: number;
  load: number;
  bytesRelayed: number;
  connectedPeers: number;
}

/** forwarded; refused by the session checks; undeliverable (the other party's link is gone or full); malformed. */
const FRAME_RESULTS = ['forwarded', 'refused', 'undeliverable', 'malformed'] as const;

/** Serves relay sessions on a node (createNode's `relay`): a RelayServer over the node's messages and relay frames. */
export class RelayService {
  readonly server: RelayServer;
  private timer: TimerHandle | undefined;
  private stopPeers: (() => void) | undefined;
  private stopFrames: (() => void) | undefined;
  private stopChanges: (() => void) | undefined;
  private readonly mFrames: Counter;
  private readonly seen = new Map<string, string>();
  private readonly refusedLogged = new Set<string>();
  private readonly sweepMs: number;
  private running = false;

  constructor(
    private readonly node: TraversalNode,
    opts: RelayServiceOptions = {},
  ) {
    const { sweepMs, ...serverOpts } = opts;
    this.sweepMs = sweepMs ?? 1_000;
    this.server = new RelayServer(
      { identity: node.keypair.identity, nodeId: node.nodeId, addrs: [] },
      { ...serverOpts, metrics: node.components.metrics },
    );
    this.mFrames = node.components.metrics.counter(
      'quicmesh_relay_frames_total',
      'Relay frames (packets of relayed connections) this relay handled, by result',
      ['result'],
    );
    for (const result of FRAME_RESULTS) this.mFrames.inc({ result }, 0);
  }

  /** Register the handlers (before or after the node starts) and begin sweeping. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const serve = (peer: PeerInfo, msg: RelayConnect | RelayForward | RelayClose): Response => {
      const outcome = this.server.handle({ id: peer.nodeId, addr: peer.addr }, msg, this.node.components.clock.now());
      if (msg.type === 'RelayClose') {
        this.node.components.logger.debug('relay session closed by a member', { from: shortHex(peer.nodeId), session: shortHex(msg.sessionId) });
      }
      this.apply(outcome.effects);
      return outcome.reply;
    };
    this.node.handle('RelayConnect', serve);
    this.node.handle('RelayForward', serve);
    this.node.handle('RelayClose', serve);
    this.stopPeers = this.node.onPeerSeen((peer) => this.notePeer(peer));
    const transport = capability(this.node.transport, 'datagrams');
    if (transport !== undefined) {
      this.stopFrames = transport.onDatagram((peer, data) => {
        let frame;
        try {
          frame = decodeRelayFrame(data);
        } catch {
          return this.mFrames.inc({ result: 'malformed' });
        }
        const verdict = this.server.forwardFrame(peer.nodeId, frame.sessionId, frame.packet.length, this.node.components.clock.now());
        if ('reason' in verdict) {
          this.noteRefused(peer.nodeId, frame.sessionId, verdict.reason);
          return this.mFrames.inc({ result: 'refused' });
        }
        this.mFrames.inc({ result: transport.sendDatagram(verdict.to.id, data) ? 'forwarded' : 'undeliverable' });
      });
    }
    const control = capability(this.node.transport, 'connectionControl');
    this.stopChanges = control?.onConnectionChange((c) => {
      // A node's last direct connection to us is gone (it stopped, restarted, or left): its sessions
      // carry nothing any more. Free them now rather than at the idle timeout, so a restarted node's
      // old sessions do not count against its partners' per-peer limit (churn: RelayRejected
      // "Too many sessions" for nodes relayed to many peers).
      if (c.kind !== 'closed' || c.relayed || control.pathInfo(c.nodeId) !== undefined) return;
      this.seen.delete(toHex(c.nodeId));
      const before = this.server.sessionCount;
      this.apply(this.server.peerDisconnected(c.nodeId));
      const freed = before - this.server.sessionCount;
      // Said at info: a session freed under a live relayed connection silences it (it then times out).
      if (freed > 0) this.node.components.logger.info('relay sessions freed: the node\'s last connection closed', { node: shortHex(c.nodeId), addr: c.addr, sessions: freed });
    });
    this.scheduleSweep();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
    this.stopPeers?.();
    this.stopFrames?.();
    this.stopChanges?.();
  }

  status(): RelayStatus {
    return {
      sessions: this.server.sessionCount,
      load: this.server.load,
      bytesRelayed: this.server.bytesRelayed,
      connectedPeers: this.seen.size,
    };
  }

  /**
   * May `nodeId`'s connection carry its relay link to us? True for every peer that sent us a
   * message: a client's keep-alive Ping looks like any other, so a relay's fresh connect keeps
   * the connections it has.
   */
  serves(nodeId: NodeId): boolean {
    return this.seen.has(toHex(nodeId));
  }

  /** The first refused frame of each session is logged (a refused session drops every frame after it too). */
  private noteRefused(from: NodeId, sessionId: Uint8Array, reason: string): void {
    const key = `${toHex(sessionId)}/${reason}`;
    if (this.refusedLogged.has(key)) return;
    if (this.refusedLogged.size >= 256) this.refusedLogged.clear();
    this.refusedLogged.add(key);
    this.node.components.logger.debug('relay frame refused', { from: shortHex(from), session: shortHex(sessionId), reason });
  }

  private notePeer(peer: PeerInfo): void {
    // Only tell the core when a peer is new or moved: this runs for every incoming message.
    const hex = toHex(peer.nodeId);
    if (this.seen.get(hex) === peer.addr) return;
    this.seen.set(hex, peer.addr);
    this.server.peerConnected({ id: peer.nodeId, addr: peer.addr });
  }

  private apply(effects: RelayEffect[]): void {
    for (const e of effects) {
      this.node.notify({ nodeId: e.to.id, addr: e.to.addr }, e.msg).catch((err: unknown) => {
        this.node.components.logger.debug('relay notify failed', {
          type: e.msg.type,
          to: e.to.addr,
          error: errorMessage(err),
        });
      });
    }
  }

  private scheduleSweep(): void {
    this.timer = this.node.components.clock.setTimer(this.sweepMs, () => {
      if (!this.running) return;
      this.apply(this.server.tick(this.node.components.clock.now()));
      this.scheduleSweep();
    });
  }
}
