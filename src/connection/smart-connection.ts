/**
 * Smart connections (spec: SmartConnection, smart_connect): the state of a connection to one
 * peer — direct, relayed, or waiting at a relay — and `SmartConnectPlan`, the pure state machine
 * that gets there from an endpoint record. The driver executes its effects (dial, punch,
 * relayConnect, …) and reports outcomes back through `input(event, now)`.
 *
 * The plan: dial every direct address at once and, in parallel, start a hole punch at a rendezvous
 * (by default the peer's first relay), `punchDelayMs` later (a head start for the dials, so a peer
 * that answers a plain dial is not punched). When the direct attempts are exhausted, or after
 * `directTimeoutMs` (DIRECT_CONNECT_TIMEOUT_MS), the peer's relays are tried in ranked order, one at a
 * time (RelayConnect → RelayAccepted = RelayPending → RelayConnected = Relayed), while the dials
 * still in flight go on until they end or a relay connects. While relayed,
 * keep trying to upgrade: a late dial or punch success, a validated direct path from the
 * PathProber, or a periodic `probeDirect`/`punch` round, each ends in Direct + relayClose.
 */
import { DIRECT_CONNECT_TIMEOUT_MS } from '../constants.js';
import { bytesEqual } from '../core/bytes.js';
import type { Rng } from '../core/rng.js';
import type { Contact, NodeId } from '../core/types.js';
import { ConfigError } from '../errors.js';
import type { RelayEndpoint } from '../identity/endpoint-record.js';

/** A smart connection: direct (plain or hole-punched), relayed, or a relay session being set up. */
export type SmartConnection =
  | { kind: 'Direct'; addr: string; via: 'direct' | 'hole-punched' }
  | { kind: 'Relayed'; relay: RelayEndpoint; sessionId: Uint8Array; directAddrs: string[] }
  | { kind: 'RelayPending'; relay: RelayEndpoint; sessionId: Uint8Array };

export function isDirect(c: SmartConnection): c is Extract<SmartConnection, { kind: 'Direct' }> {
  return c.kind === 'Direct';
}

/** Relayed with direct addresses to try. */
export function canAttemptUpgrade(c: SmartConnection): boolean {
  return c.kind === 'Relayed' && c.directAddrs.length > 0;
}

/** Whom a smart connection is for: the peer, its direct addresses and relays. */
export interface SmartConnectTarget {
  peerId: NodeId;
  /** Direct addresses (EndpointRecord.addrs). */
  addrs: readonly string[];
  /** Relays, best first (RelayClient.rankEndpoints). */
  relays: readonly RelayEndpoint[];
  /** Where to coordinate a hole punch; default: the first relay (at its first address); null: no punching. */
  rendezvous?: Contact | null;
  /**
   * true: the peer is known to be behind a NAT (punch at once, no head start for the plain dials);
   * false: known not to be (its record shows one address), so its plain dial gets the longer
   * `publicDirectTimeoutMs`; absent: unknown.
   */
  behindNat?: boolean;
  /** The peer needed a relay last time: its relays join the race at once, beside the dials and the punch. */
  relayNow?: boolean;
}

/** What a SmartConnectPlan asks its driver to do (dial, punch, open a relay, connected, upgraded, failed). */
export type SmartEffect =
  | { kind: 'dial'; addr: string }
  | { kind: 'cancelDials' }
  /** Coordinate a punch at `rendezvous` (HolePunchStart: the peer is told to punch toward us now). */
  | { kind: 'punch'; rendezvous: Contact }
  | { kind: 'relayConnect'; relay: RelayEndpoint; sessionId: Uint8Array }
  | { kind: 'relayClose'; relay: RelayEndpoint; sessionId: Uint8Array }
  /** The relay failed: tell the RelayClient (markFailed). */
  | { kind: 'relayFailed'; relay: RelayEndpoint; reason: string }
  /** Probe these direct addresses for an upgrade (PathProber.addDirectCandidates + probes). */
  | { kind: 'probeDirect'; addrs: string[] }
  | { kind: 'connected'; connection: SmartConnection }
  | { kind: 'upgraded'; from: SmartConnection; to: SmartConnection }
  | { kind: 'failed'; reason: string };

/** What the driver tells a SmartConnectPlan (a dial, punch or relay succeeded or failed, a timer fired). */
export type SmartInput =
  | { kind: 'dialSucceeded'; addr: string }
  | { kind: 'dialFailed'; addr: string }
  | { kind: 'punchSucceeded'; addr: string }
  | { kind: 'punchFailed'; reason: string }
  | { kind: 'relayAccepted'; sessionId: Uint8Array }
  | { kind: 'relayConnected'; sessionId: Uint8Array }
  | { kind: 'relayFailed'; sessionId: Uint8Array; reason: string }
  /** The PathProber validated a direct path while we are relayed. */
  | { kind: 'pathValidated'; addr: string }
  /** The relay session or connection was closed under us. */
  | { kind: 'connectionLost' };

/** SmartConnectPlan options: randomness and the timing of direct attempts, relays and upgrades. */
export interface SmartConnectOptions {
  rng: Rng;
  /** ms of direct attempts before the relays join, for a peer known to be behind a NAT. Default DIRECT_CONNECT_TIMEOUT_MS. */
  directTimeoutMs?: number;
  /**
   * The same for a peer known not to be behind a NAT, whose plain dial should answer: a busy
   * host's slow handshake should not be mistaken for a blocked path. Default: directTimeoutMs.
   */
  publicDirectTimeoutMs?: number;
  /** ms after the dials before the punch starts. Default 0. */
  punchDelayMs?: number;
  /**
   * The same for a peer known not to be behind a NAT (behindNat false): its plain dial should
   * answer, and a punch started meanwhile only competes with the handshake for both nodes' time
   * (its answer arrives with the handshake's). Default: punchDelayMs.
   */
  publicPunchDelayMs?: number;
  /** ms for a relay to accept, and again for the peer to join. Default 5 s. */
  relayTimeoutMs?: number;
  /** ms between upgrade rounds while relayed. Default 30 s. */
  upgradeIntervalMs?: number;
  /** Upgrade rounds before giving up on direct (until reconnect). Default 10. */
  maxUpgradeAttempts?: number;
}

/** Where a SmartConnectPlan stands. */
export type SmartPhase = 'idle' | 'connecting' | 'connected' | 'failed';

/** Sans-IO plan of one smart connection: dials, hole punch and relay in parallel, and the later upgrade to direct. */
export class SmartConnectPlan {
  private phaseValue: SmartPhase = 'idle';
  private conn: SmartConnection | null = null;
  private pendingDials = new Set<string>();
  private punching = false;
  private punchAt = Infinity;
  private directDeadline = Infinity;
  private relayIndex = -1;
  private relayAttempt: { relay: RelayEndpoint; sessionId: Uint8Array; deadline: number; accepted: boolean } | null = null;
  private nextUpgradeAt = Infinity;
  private upgradeAttempts = 0;
  private readonly o: Required<Omit<SmartConnectOptions, 'rng'>>;
  private readonly rendezvous: Contact | null;
  /** Counters for the manager's metrics. */
  upgrades = 0;
  failures = 0;

  constructor(
    readonly target: SmartConnectTarget,
    private readonly opts: SmartConnectOptions,
  ) {
    this.o = {
      directTimeoutMs: opts.directTimeoutMs ?? DIRECT_CONNECT_TIMEOUT_MS,
      publicDirectTimeoutMs: opts.publicDirectTimeoutMs ?? opts.directTimeoutMs ?? DIRECT_CONNECT_TIMEOUT_MS,
      punchDelayMs: opts.punchDelayMs ?? 0,
      publicPunchDelayMs: opts.publicPunchDelayMs ?? opts.punchDelayMs ?? 0,
      relayTimeoutMs: opts.relayTimeoutMs ?? 5_000,
      upgradeIntervalMs: opts.upgradeIntervalMs ?? 30_000,
      maxUpgradeAttempts: opts.maxUpgradeAttempts ?? 10,
    };
    for (const [k, v] of Object.entries(this.o)) {
      if (!(v >= 0) || (k !== 'maxUpgradeAttempts' && k !== 'punchDelayMs' && k !== 'publicPunchDelayMs' && !(v > 0))) throw new ConfigError(`SmartConnectPlan.${k}: bad value ${v}`);
    }
    const first = target.relays[0];
    this.rendezvous =
      target.rendezvous !== undefined
        ? target.rendezvous
        : first !== undefined && first.addrs[0] !== undefined
          ? { id: first.relayId, addr: first.addrs[0] }
          : null;
  }

  get phase(): SmartPhase {
    return this.phaseValue;
  }

  get connection(): SmartConnection | null {
    return this.conn;
  }

  /** Begin (or, after a failure or loss, begin again). */
  start(now: number): SmartEffect[] {
    if (this.phaseValue === 'connecting' || this.phaseValue === 'connected') return [];
    this.phaseValue = 'connecting';
    this.conn = null;
    this.relayIndex = -1;
    this.relayAttempt = null;
    this.nextUpgradeAt = Infinity;
    this.upgradeAttempts = 0;
    const out: SmartEffect[] = [];
    this.pendingDials = new Set(this.target.addrs);
    this.directDeadline = now + (this.target.behindNat === false ? this.o.publicDirectTimeoutMs : this.o.directTimeoutMs);
    this.punchAt = Infinity;
    if (this.rendezvous) {
      this.punching = true; // counts as a direct option while it waits for its start
      const delay = this.target.behindNat === true ? 0 : this.target.behindNat === false ? this.o.publicPunchDelayMs : this.o.punchDelayMs;
      // before the dials: the punch's request has the longest way to go (rendezvous, then the peer, whose
      // answer opens its NAT), while each dial's first flight is repeated until then anyway
      if (delay === 0) out.push({ kind: 'punch', rendezvous: this.rendezvous });
      else this.punchAt = now + delay;
    }
    for (const addr of this.pendingDials) out.push({ kind: 'dial', addr });
    // nothing to dial: a punch alone is a gamble, so start the relay alongside it (and at once for a
    // peer that needed one last time: the first verified path wins, a later punch still upgrades)
    if (this.pendingDials.size === 0 || this.target.relayNow === true) out.push(...this.nextRelay(now));
    return out;
  }

  input(ev: SmartInput, now: number): SmartEffect[] {
    switch (ev.kind) {
      case 'dialSucceeded':
        this.pendingDials.delete(ev.addr);
        return this.goDirect(ev.addr, 'direct');
      case 'pathValidated':
        return this.conn?.kind === 'Direct' ? [] : this.goDirect(ev.addr, 'direct');
      case 'punchSucceeded':
        this.punching = false;
        this.punchAt = Infinity;
        return this.goDirect(ev.addr, 'hole-punched');
      case 'dialFailed':
        this.pendingDials.delete(ev.addr);
        return this.maybeFallBack(now);
      case 'punchFailed':
        this.punching = false;
        return this.maybeFallBack(now);
      case 'relayAccepted': {
        const a = this.matching(ev.sessionId);
        if (a === null || a.accepted) return [];
        a.accepted = true;
        a.deadline = now + this.o.relayTimeoutMs;
        if (this.conn?.kind !== 'Direct') this.conn = { kind: 'RelayPending', relay: a.relay, sessionId: a.sessionId };
        return [];
      }
      case 'relayConnected': {
        const a = this.matching(ev.sessionId);
        if (a === null) return [];
        this.relayAttempt = null;
        if (this.conn?.kind === 'Direct') return [{ kind: 'relayClose', relay: a.relay, sessionId: a.sessionId }];
        this.conn = { kind: 'Relayed', relay: a.relay, sessionId: a.sessionId, directAddrs: [...this.target.addrs] };
        this.phaseValue = 'connected';
        // a punch still running may yet upgrade us (by migration); the first explicit round waits an interval
        this.nextUpgradeAt = now + this.o.upgradeIntervalMs;
        const out: SmartEffect[] = [{ kind: 'connected', connection: this.conn }];
        if (this.pendingDials.size > 0) {
          this.pendingDials.clear();
          out.push({ kind: 'cancelDials' });
        }
        return out;
      }
      case 'relayFailed': {
        const a = this.matching(ev.sessionId);
        if (a === null) return [];
        this.relayAttempt = null;
        if (this.conn?.kind === 'RelayPending') this.conn = null;
        return [{ kind: 'relayFailed', relay: a.relay, reason: ev.reason }, ...this.nextRelay(now)];
      }
      case 'connectionLost': {
        if (this.phaseValue !== 'connected') return [];
        const lost = this.conn;
        this.phaseValue = 'idle';
        this.failures++;
        const out: SmartEffect[] =
          lost?.kind === 'Relayed' ? [{ kind: 'relayClose', relay: lost.relay, sessionId: lost.sessionId }] : [];
        return [...out, ...this.start(now)];
      }
    }
  }

  /** Deadlines: direct timeout → relay; relay timeout → next relay; upgrade rounds. */
  tick(now: number): SmartEffect[] {
    const out: SmartEffect[] = [];
    if (this.phaseValue === 'connecting' && now >= this.punchAt && this.rendezvous) {
      this.punchAt = Infinity;
      out.push({ kind: 'punch', rendezvous: this.rendezvous });
    }
    if (this.phaseValue === 'connecting' && now >= this.directDeadline) {
      // Relays join the race now; dials still in flight may yet win (a slow handshake, a late punch).
      this.directDeadline = Infinity;
      if (this.relayAttempt === null && this.relayIndex < 0 && this.target.relays.length > 0) out.push(...this.nextRelay(now));
      else out.push(...this.maybeFallBack(now));
    }
    if (this.relayAttempt !== null && now >= this.relayAttempt.deadline) {
      const a = this.relayAttempt;
      this.relayAttempt = null;
      if (this.conn?.kind === 'RelayPending') this.conn = null;
      out.push({ kind: 'relayFailed', relay: a.relay, reason: a.accepted ? 'Peer did not join' : 'Timeout' });
      out.push(...this.nextRelay(now));
    }
    if (this.conn?.kind === 'Relayed' && now >= this.nextUpgradeAt) {
      if (this.upgradeAttempts < this.o.maxUpgradeAttempts && canAttemptUpgrade(this.conn)) {
        this.upgradeAttempts++;
        this.nextUpgradeAt = now + this.o.upgradeIntervalMs;
        out.push({ kind: 'probeDirect', addrs: [...this.conn.directAddrs] });
        if (this.rendezvous) out.push({ kind: 'punch', rendezvous: this.rendezvous });
      } else {
        this.nextUpgradeAt = Infinity;
      }
    }
    return out;
  }

  nextAt(): number | undefined {
    const t = Math.min(
      this.phaseValue === 'connecting' ? Math.min(this.directDeadline, this.punchAt) : Infinity,
      this.relayAttempt?.deadline ?? Infinity,
      this.conn?.kind === 'Relayed' ? this.nextUpgradeAt : Infinity,
    );
    return Number.isFinite(t) ? t : undefined;
  }

  // --- internals ---------------------------------------------------------------------------

  private matching(sessionId: Uint8Array): NonNullable<SmartConnectPlan['relayAttempt']> | null {
    const a = this.relayAttempt;
    return a !== null && bytesEqual(a.sessionId, sessionId) ? a : null;
  }

  private goDirect(addr: string, via: 'direct' | 'hole-punched'): SmartEffect[] {
    const prev = this.conn;
    if (prev?.kind === 'Direct') return [];
    if (this.phaseValue !== 'connecting' && this.phaseValue !== 'connected') return [];
    const to: SmartConnection = { kind: 'Direct', addr, via };
    this.conn = to;
    this.phaseValue = 'connected';
    this.nextUpgradeAt = Infinity;
    this.punchAt = Infinity; // a punch not started yet is not needed any more
    // the news first, the clean-up after: whoever waits for the connection need not wait for it
    const out: SmartEffect[] = [];
    if (prev?.kind === 'Relayed') {
      this.upgrades++;
      out.push({ kind: 'upgraded', from: prev, to }, { kind: 'relayClose', relay: prev.relay, sessionId: prev.sessionId });
    } else {
      out.push({ kind: 'connected', connection: to });
    }
    if (this.pendingDials.size > 0) {
      this.pendingDials.clear();
      out.push({ kind: 'cancelDials' });
    }
    // an attempt in flight (pending, or accepted and waiting for the peer) is abandoned
    const a = this.relayAttempt;
    this.relayAttempt = null;
    if (a !== null && a.accepted) out.push({ kind: 'relayClose', relay: a.relay, sessionId: a.sessionId });
    return out;
  }

  /** Direct options exhausted: go to the relays, or fail when those are exhausted too. */
  private maybeFallBack(now: number): SmartEffect[] {
    if (this.phaseValue !== 'connecting') return [];
    const directLeft = this.pendingDials.size > 0 || this.punching;
    if (directLeft && now < this.directDeadline) return [];
    if (this.relayAttempt !== null) return [];
    if (this.relayIndex < 0) return this.nextRelay(now);
    if (this.relayIndex >= this.target.relays.length && !directLeft) return this.fail('no path: direct and relays failed');
    return [];
  }

  private nextRelay(now: number): SmartEffect[] {
    if (this.phaseValue === 'connected' && this.conn?.kind === 'Direct') return [];
    this.relayIndex = Math.max(this.relayIndex, -1) + 1;
    const relay = this.target.relays[this.relayIndex];
    if (relay === undefined) {
      const directLeft = this.pendingDials.size > 0 || this.punching;
      return directLeft ? [] : this.fail(this.target.relays.length === 0 ? 'no path: direct failed and no relays' : 'no path: direct and relays failed');
    }
    const sessionId = this.opts.rng.bytes(16);
    this.relayAttempt = { relay, sessionId, deadline: now + this.o.relayTimeoutMs, accepted: false };
    return [{ kind: 'relayConnect', relay, sessionId }];
  }

  private fail(reason: string): SmartEffect[] {
    if (this.phaseValue === 'failed') return [];
    this.phaseValue = 'failed';
    this.conn = null;
    this.failures++;
    return [{ kind: 'failed', reason }];
  }
}
