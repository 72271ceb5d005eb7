/**
 * The relay (TURN-style) server core (spec: RelayServer): sessions between two nodes, pure and
 * effect-returning. The node feeds it authenticated requests and connection events and carries
 * out the effects (one-way messages to peers); it never touches a socket or a clock.
 *
 * Session flow (session ids are chosen by the initiator, 1..32 bytes):
 *   A → RelayConnect{target B, S}   ⇒ reply RelayAccepted{S} to A; notify B with that RelayConnect
 *                                      (an offer: "A wants session S with you"); S is pending.
 *   B → RelayConnect{target A, S}   ⇒ S is active: reply RelayConnected{S, peer A} to B, notify A
 *                                      RelayConnected{S, peer B}.
 *   X → RelayForward{S, payload}    ⇒ notify the other side RelayForward{from X, S, payload}
 *                                      (`from` names the origin; the receiver trusts it because the
 *                                      notify comes from its relay), reply RelayForwarded{delivered}.
 *   X → RelayClose{S}               ⇒ reply RelayClosed{S}, notify the other side RelayClosed{S}.
 * Refusals are RelayRejected{S, reason} with a reason from RELAY_REJECT. Sessions idle longer
 * than `idleTimeoutMs`, and offers unanswered for `pendingTimeoutMs`, are closed by `tick`.
 */
import { bytesEqual, toHex } from '../../core/bytes.js';
import type { Contact, Identity, NodeId } from '../../core/types.js';
import { ConfigError } from '../../errors.js';
import { noopMetrics, type Counter, type Gauge, type Metrics } from '../../metrics/metrics.js';
import type {
  Message,
  RelayClose,
  RelayConnect,
  RelayForward,
  Response,
} from '../../wire/messages.js';
import type { RelayInfo } from './relay-info.js';
import { TokenBucket } from './token-bucket.js';

/** The reasons a relay gives in RelayRejected. */
export const RELAY_REJECT = {
  Full: 'Full',
  NotAccepting: 'Not accepting',
  UnknownTarget: 'Unknown target',
  SelfTarget: 'Self target',
  TooManySessions: 'Too many sessions',
  SessionExists: 'Session exists',
  UnknownSession: 'Unknown session',
  NotMember: 'Not a member',
  NotConnected: 'Not connected',
  Bandwidth: 'Bandwidth',
} as const;
/** One of the RELAY_REJECT reasons. */
export type RelayRejectReason = (typeof RELAY_REJECT)[keyof typeof RELAY_REJECT];

/** Settings of a RelayServer: session limits, per-session bandwidth, idle and offer timeouts, published capabilities. */
export interface RelayServerOptions {
  /** Sessions (pending + active) at most. Default 256. */
  maxSessions?: number;
  /** Sessions one node may take part in. Default 16. */
  maxSessionsPerPeer?: number;
  /** Per session and direction, bytes/s; 0 = unlimited. Default 256 KiB/s. */
  bandwidthBytesPerSec?: number;
  /** Burst per direction, bytes. Default one second's worth. */
  burstBytes?: number;
  /** ms without traffic before an active session is closed. Default 60 s. */
  idleTimeoutMs?: number;
  /** ms an offer waits for the target to join. Default 15 s. */
  pendingTimeoutMs?: number;
  /** Refuse targets not currently connected to the relay. Default true. */
  requireConnectedTarget?: boolean;
  /** Published capabilities. */
  region?: string | null;
  stun?: boolean;
  iceLite?: boolean;
  metrics?: Metrics;
}

/** A one-way message for the driver to send to `to`. */
export interface RelayEffect {
  kind: 'send';
  to: Contact;
  msg: Message;
}

/** The server's answer to a request: the reply to its sender and the one-way messages for others. */
export interface RelayOutcome {
  reply: Response;
  effects: RelayEffect[];
}

interface Session {
  key: string;
  sessionId: Uint8Array;
  initiator: Contact;
  target: Contact;
  state: 'pending' | 'active';
  createdAt: number;
  lastActivity: number;
  /** Buckets by sender: [initiator→target, target→initiator]; null while pending or when unlimited. */
  buckets: [TokenBucket, TokenBucket] | null;
}

/** One relay session as status shows it: id, both parties, state, idle time. */
export interface RelaySessionView {
  sessionId: Uint8Array;
  initiator: NodeId;
  target: NodeId;
  state: 'pending' | 'active';
  idleMs: number;
}

const DEFAULTS = {
  maxSessions: 256,
  maxSessionsPerPeer: 16,
  bandwidthBytesPerSec: 256 * 1024,
  idleTimeoutMs: 60_000,
  pendingTimeoutMs: 15_000,
};

/** The relay (TURN-style) server core (sans-IO): sessions between two nodes, forwarding within limits, idle expiry. */
export class RelayServer {
  private readonly sessions = new Map<string, Session>();
  private readonly connected = new Map<string, Contact>();
  private readonly perPeer = new Map<string, number>();
  private accepting = true;
  private readonly opts: Required<Omit<RelayServerOptions, 'metrics' | 'burstBytes' | 'region'>> & {
    burstBytes: number;
    region: string | null;
  };
  private readonly mSessions: Gauge;
  private readonly mBytes: Counter;
  private readonly mRejected: Counter;
  private relayedBytes = 0;

  constructor(
    private readonly self: { identity: Identity; nodeId: NodeId; addrs: string[] },
    options: RelayServerOptions = {},
  ) {
    const o = { ...DEFAULTS, ...stripUndefined(options) };
    for (const k of ['maxSessions', 'maxSessionsPerPeer', 'idleTimeoutMs', 'pendingTimeoutMs'] as const) {
      if (!Number.isFinite(o[k]) || o[k] <= 0) throw new ConfigError(`RelayServer.${k} must be > 0, got ${o[k]}`);
    }
    if (!Number.isFinite(o.bandwidthBytesPerSec) || o.bandwidthBytesPerSec < 0) {
      throw new ConfigError(`RelayServer.bandwidthBytesPerSec must be >= 0, got ${o.bandwidthBytesPerSec}`);
    }
    this.opts = {
      maxSessions: o.maxSessions,
      maxSessionsPerPeer: o.maxSessionsPerPeer,
      bandwidthBytesPerSec: o.bandwidthBytesPerSec,
      burstBytes: options.burstBytes ?? o.bandwidthBytesPerSec,
      idleTimeoutMs: o.idleTimeoutMs,
      pendingTimeoutMs: o.pendingTimeoutMs,
      requireConnectedTarget: options.requireConnectedTarget ?? true,
      region: options.region ?? null,
      stun: options.stun ?? true,
      iceLite: options.iceLite ?? true,
    };
    const metrics = options.metrics ?? noopMetrics;
    this.mSessions = metrics.gauge('quicmesh_relay_sessions', 'Relay sessions held by this relay (pending + active)');
    this.mBytes = metrics.counter('quicmesh_relay_bytes_total', 'Payload bytes forwarded by this relay');
    this.mRejected = metrics.counter('quicmesh_relay_rejections_total', 'Relay requests refused, by reason', ['reason']);
  }

  // --- connection events -------------------------------------------------------------------

  /** A node holds a connection to us (it can be a session target). */
  peerConnected(contact: Contact): void {
    this.connected.set(toHex(contact.id), { id: Uint8Array.from(contact.id), addr: contact.addr });
  }

  /** A node's connection went away: its sessions close and the other sides are told. */
  peerDisconnected(nodeId: NodeId): RelayEffect[] {
    const hex = toHex(nodeId);
    this.connected.delete(hex);
    const effects: RelayEffect[] = [];
    for (const s of [...this.sessions.values()]) {
      if (toHex(s.initiator.id) === hex) effects.push(...this.closeSession(s, [s.target]));
      else if (toHex(s.target.id) === hex) effects.push(...this.closeSession(s, [s.initiator]));
    }
    return effects;
  }

  /** Stop (or resume) taking new sessions; existing ones continue. */
  setAccepting(accepting: boolean): void {
    this.accepting = accepting;
  }

  // --- requests ----------------------------------------------------------------------------

  /** Serve one relay request from the authenticated `from` (its `msg.from.id` already checked). */
  handle(from: Contact, msg: RelayConnect | RelayForward | RelayClose, now: number): RelayOutcome {
    switch (msg.type) {
      case 'RelayConnect':
        return this.onConnect(from, msg, now);
      case 'RelayForward':
        return this.onForward(from, msg, now);
      case 'RelayClose':
        return this.onClose(from, msg);
    }
  }

  private reject(sessionId: Uint8Array, reason: RelayRejectReason): RelayOutcome {
    this.mRejected.inc({ reason });
    return { reply: { type: 'RelayRejected', sessionId, reason }, effects: [] };
  }

  private onConnect(from: Contact, msg: RelayConnect, now: number): RelayOutcome {
    const key = toHex(msg.sessionId);
    const existing = this.sessions.get(key);
    if (existing !== undefined) {
      const fromInitiator = bytesEqual(existing.initiator.id, from.id) && bytesEqual(existing.target.id, msg.target);
      const fromTarget = bytesEqual(existing.target.id, from.id) && bytesEqual(existing.initiator.id, msg.target);
      if (fromInitiator) {
        // a retransmitted offer: answer as before
        return existing.state === 'pending'
          ? { reply: { type: 'RelayAccepted', sessionId: msg.sessionId }, effects: [] }
          : { reply: { type: 'RelayConnected', sessionId: msg.sessionId, peer: existing.target }, effects: [] };
      }
      if (!fromTarget) return this.reject(msg.sessionId, RELAY_REJECT.SessionExists);
      if (existing.state === 'active') {
        return { reply: { type: 'RelayConnected', sessionId: msg.sessionId, peer: existing.initiator }, effects: [] };
      }
      existing.state = 'active';
      existing.target = { id: Uint8Array.from(from.id), addr: from.addr };
      existing.lastActivity = now;
      existing.buckets = this.makeBuckets(now);
      return {
        reply: { type: 'RelayConnected', sessionId: msg.sessionId, peer: existing.initiator },
        effects: [
          { kind: 'send', to: existing.initiator, msg: { type: 'RelayConnected', sessionId: msg.sessionId, peer: existing.target } },
        ],
      };
    }
    if (!this.accepting) return this.reject(msg.sessionId, RELAY_REJECT.NotAccepting);
    if (bytesEqual(msg.target, from.id)) return this.reject(msg.sessionId, RELAY_REJECT.SelfTarget);
    const target = this.connected.get(toHex(msg.target));
    if (bytesEqual(msg.target, this.self.nodeId) || (target === undefined && this.opts.requireConnectedTarget)) {
      return this.reject(msg.sessionId, RELAY_REJECT.UnknownTarget);
    }
    if (this.sessions.size >= this.opts.maxSessions) return this.reject(msg.sessionId, RELAY_REJECT.Full);
    if (
      this.peerCount(from.id) >= this.opts.maxSessionsPerPeer ||
      this.peerCount(msg.target) >= this.opts.maxSessionsPerPeer
    ) {
      return this.reject(msg.sessionId, RELAY_REJECT.TooManySessions);
    }
    const s: Session = {
      key,
      sessionId: Uint8Array.from(msg.sessionId),
      initiator: { id: Uint8Array.from(from.id), addr: from.addr },
      target: target ?? { id: Uint8Array.from(msg.target), addr: '' },
      state: 'pending',
      createdAt: now,
      lastActivity: now,
      buckets: null,
    };
    this.sessions.set(key, s);
    this.adjustPeer(s.initiator.id, 1);
    this.adjustPeer(s.target.id, 1);
    this.mSessions.set(this.sessions.size);
    const effects: RelayEffect[] =
      target !== undefined
        ? [{ kind: 'send', to: target, msg: { type: 'RelayConnect', from: s.initiator, target: msg.target, sessionId: s.sessionId } }]
        : [];
    return { reply: { type: 'RelayAccepted', sessionId: msg.sessionId }, effects };
  }

  private onForward(from: Contact, msg: RelayForward, now: number): RelayOutcome {
    const admitted = this.admit(from.id, msg.sessionId, msg.payload.length, now);
    if ('reason' in admitted) return this.reject(msg.sessionId, admitted.reason);
    return {
      reply: { type: 'RelayForwarded', sessionId: msg.sessionId, delivered: true },
      effects: [
        {
          kind: 'send',
          to: admitted.to,
          msg: { type: 'RelayForward', from: admitted.sender, sessionId: admitted.sessionId, payload: msg.payload },
        },
      ],
    };
  }

  /**
   * The data plane (relay frames, see relay-datagram.ts): may `from` send `bytes` on session
   * `sessionId` now? Same checks and metering as RelayForward; the driver forwards the frame to
   * `to` unchanged. A refusal is counted but answered with nothing (frames have no replies).
   */
  forwardFrame(from: NodeId, sessionId: Uint8Array, bytes: number, now: number): { to: Contact } | { reason: RelayRejectReason } {
    const admitted = this.admit(from, sessionId, bytes, now);
    if ('reason' in admitted) {
      this.mRejected.inc({ reason: admitted.reason });
      return admitted;
    }
    return { to: admitted.to };
  }

  private admit(
    from: NodeId,
    sessionId: Uint8Array,
    bytes: number,
    now: number,
  ): { to: Contact; sender: Contact; sessionId: Uint8Array } | { reason: RelayRejectReason } {
    const s = this.sessions.get(toHex(sessionId));
    if (s === undefined) return { reason: RELAY_REJECT.UnknownSession };
    const dir = this.direction(s, from);
    if (dir === -1) return { reason: RELAY_REJECT.NotMember };
    if (s.state !== 'active') return { reason: RELAY_REJECT.NotConnected };
    if (s.buckets !== null && !s.buckets[dir].take(bytes, now)) return { reason: RELAY_REJECT.Bandwidth };
    s.lastActivity = now;
    this.relayedBytes += bytes;
    this.mBytes.inc(undefined, bytes);
    return dir === 0
      ? { to: s.target, sender: s.initiator, sessionId: s.sessionId }
      : { to: s.initiator, sender: s.target, sessionId: s.sessionId };
  }

  private onClose(from: Contact, msg: RelayClose): RelayOutcome {
    const s = this.sessions.get(toHex(msg.sessionId));
    if (s === undefined) return { reply: { type: 'RelayClosed', sessionId: msg.sessionId }, effects: [] };
    const dir = this.direction(s, from.id);
    if (dir === -1) return this.reject(msg.sessionId, RELAY_REJECT.NotMember);
    const other = dir === 0 ? s.target : s.initiator;
    // the other side knows of the session (it was offered it even while pending)
    return { reply: { type: 'RelayClosed', sessionId: msg.sessionId }, effects: this.closeSession(s, [other]) };
  }

  // --- time --------------------------------------------------------------------------------

  /** Close idle sessions and stale offers; both sides (that know of the session) are told. */
  tick(now: number): RelayEffect[] {
    const effects: RelayEffect[] = [];
    for (const s of [...this.sessions.values()]) {
      if (s.state === 'pending' && now - s.createdAt >= this.opts.pendingTimeoutMs) {
        effects.push(...this.closeSession(s, [s.initiator]));
      } else if (s.state === 'active' && now - s.lastActivity >= this.opts.idleTimeoutMs) {
        effects.push(...this.closeSession(s, [s.initiator, s.target]));
      }
    }
    return effects;
  }

  /** When `tick` next has work, or undefined with no sessions. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const s of this.sessions.values()) {
      const at = s.state === 'pending' ? s.createdAt + this.opts.pendingTimeoutMs : s.lastActivity + this.opts.idleTimeoutMs;
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  // --- state -------------------------------------------------------------------------------

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Sessions / capacity, 0..1. */
  get load(): number {
    return Math.min(1, this.sessions.size / this.opts.maxSessions);
  }

  get bytesRelayed(): number {
    return this.relayedBytes;
  }

  sessionsView(now: number): RelaySessionView[] {
    return [...this.sessions.values()].map((s) => ({
      sessionId: s.sessionId,
      initiator: s.initiator.id,
      target: s.target.id,
      state: s.state,
      idleMs: now - s.lastActivity,
    }));
  }

  /** What to publish (rttMs/tier are for observers to fill in). */
  relayInfo(): RelayInfo {
    return {
      relayPeer: this.self.identity,
      relayAddrs: [...this.self.addrs],
      load: this.load,
      accepting: this.accepting && this.sessions.size < this.opts.maxSessions,
      rttMs: null,
      tier: null,
      capabilities: {
        stun: this.opts.stun,
        turn: true,
        iceLite: this.opts.iceLite,
        maxBandwidthKbps: Math.round((this.opts.bandwidthBytesPerSec * 8) / 1000),
        region: this.opts.region,
      },
    };
  }

  // --- helpers -----------------------------------------------------------------------------

  private direction(s: Session, id: NodeId): 0 | 1 | -1 {
    if (bytesEqual(s.initiator.id, id)) return 0;
    if (bytesEqual(s.target.id, id)) return 1;
    return -1;
  }

  /** Null when unlimited. */
  private makeBuckets(now: number): [TokenBucket, TokenBucket] | null {
    const rate = this.opts.bandwidthBytesPerSec;
    if (rate === 0) return null;
    return [new TokenBucket(rate, this.opts.burstBytes, now), new TokenBucket(rate, this.opts.burstBytes, now)];
  }

  private closeSession(s: Session, tell: Contact[]): RelayEffect[] {
    this.sessions.delete(s.key);
    this.adjustPeer(s.initiator.id, -1);
    this.adjustPeer(s.target.id, -1);
    this.mSessions.set(this.sessions.size);
    return tell
      .filter((c) => c.addr !== '' || this.connected.has(toHex(c.id)))
      .map((to) => ({ kind: 'send' as const, to, msg: { type: 'RelayClosed' as const, sessionId: s.sessionId } }));
  }

  private peerCount(id: NodeId): number {
    return this.perPeer.get(toHex(id)) ?? 0;
  }

  private adjustPeer(id: NodeId, delta: number): void {
    const hex = toHex(id);
    const n = (this.perPeer.get(hex) ?? 0) + delta;
    if (n <= 0) this.perPeer.delete(hex);
    else this.perPeer.set(hex, n);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
