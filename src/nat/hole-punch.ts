/**
 * The hole-punch rendezvous coordinator (spec: HolePunchRegister / HolePunchStart →
 * HolePunchWaiting / HolePunchReady / HolePunchFailed), pure and effect-returning. It runs on a
 * node both peers can reach (typically a relay) and tells each side where to punch and when.
 *
 * HolePunchRegister{target B} from A: if B registered for A within `windowMs`, both get
 *   HolePunchReady — A as the reply, B as a one-way message — each naming the other's observed
 *   (reflexive, as this node sees it) address first, then its announced addresses, with a start
 *   delay chosen so both start together (see `delays`). Otherwise A gets HolePunchWaiting and its
 *   registration waits; one that finds no partner in `windowMs` gets HolePunchFailed 'Timeout'.
 * HolePunchStart{target B} from A: "tell B to punch toward me now". When B is connected here, B
 *   gets HolePunchReady (A's addresses) and A gets HolePunchReady (B's observed + last announced
 *   addresses) at once, no registration needed; otherwise A gets HolePunchFailed 'Unknown target'.
 *   This is what a node already talking to B's relay uses to upgrade a relayed connection. A's
 *   forwarded QUIC Initial (HolePunchStart.initial) rides along in B's copy only.
 */
import { bytesEqual, toHex } from '../core/bytes.js';
import type { Contact, NodeId } from '../core/types.js';
import { ConfigError } from '../errors.js';
import { noopMetrics, type Counter, type Metrics } from '../metrics/metrics.js';
import { isHostPort, MAX_ADDRS } from '../wire/limits.js';
import type {
  HolePunchFailed,
  HolePunchReady,
  HolePunchRegister,
  HolePunchStart,
  HolePunchWaiting,
} from '../wire/messages.js';

export const PUNCH_FAILURE = {
  Timeout: 'Timeout',
  UnknownTarget: 'Unknown target',
  SelfTarget: 'Self target',
  Busy: 'Busy',
} as const;

/** A requester as this node sees it: its contact and the address its packets come from. */
export interface PunchParty {
  contact: Contact;
  observedAddr: string;
  /** Our measured RTT to it (ms), used to line up the start times. */
  rttMs?: number;
}

/** Settings of a HolePunchCoordinator: registration window, start-delay slack, pending bound, metrics. */
export interface HolePunchCoordinatorOptions {
  /** ms a registration waits for its partner. Default 10 s. */
  windowMs?: number;
  /**
   * ms of slack added to every start delay. Default 0: both sides repeat their punches for seconds,
   * so starting at once matters more than starting together (the initiator's QUIC Initials punch too).
   */
  startDelayMs?: number;
  /** Registrations held at most. Default 1024. */
  maxPending?: number;
  metrics?: Metrics;
}

/** A message for the driver to send: HolePunchReady or HolePunchFailed to one party. */
export interface PunchEffect {
  kind: 'send';
  to: Contact;
  msg: HolePunchReady | HolePunchFailed;
}

/** The coordinator's answer to a request: the reply to its sender and the messages to send to others. */
export interface PunchOutcome<R> {
  reply: R;
  effects: PunchEffect[];
}

interface Registration {
  party: PunchParty;
  target: NodeId;
  addrs: string[];
  at: number;
}

interface Seen {
  party: PunchParty;
  announced: string[];
}

/** The other side's addresses: observed first, then announced, valid and unique, at most MAX_ADDRS. */
export function candidateList(observed: string, announced: readonly string[]): string[] {
  return [...new Set([observed, ...announced])].filter((a) => isHostPort(a)).slice(0, MAX_ADDRS);
}

/**
 * Start delays (ms after receipt) for two parties told at the same moment: each waits out the
 * slower one's one-way delay (rtt/2) minus its own, plus `slack`, so both start together.
 */
export function delays(a: PunchParty, b: PunchParty, slackMs: number): [number, number] {
  const oa = (a.rttMs ?? 0) / 2;
  const ob = (b.rttMs ?? 0) / 2;
  const m = Math.max(oa, ob);
  return [Math.round(slackMs + m - oa), Math.round(slackMs + m - ob)];
}

/** The hole-punch rendezvous (sans-IO): pairs punch requests and tells both peers where and when to punch. */
export class HolePunchCoordinator {
  /** Registrations by "from→target". */
  private readonly pending = new Map<string, Registration>();
  private readonly seen = new Map<string, Seen>();
  private readonly windowMs: number;
  private readonly startDelayMs: number;
  private readonly maxPending: number;
  private readonly mOutcomes: Counter;

  constructor(opts: HolePunchCoordinatorOptions = {}) {
    this.windowMs = opts.windowMs ?? 10_000;
    this.startDelayMs = opts.startDelayMs ?? 0;
    this.maxPending = opts.maxPending ?? 1024;
    if (!(this.windowMs > 0) || !(this.startDelayMs >= 0) || !(this.maxPending > 0)) {
      throw new ConfigError('HolePunchCoordinator: windowMs and maxPending must be > 0, startDelayMs >= 0');
    }
    this.mOutcomes = (opts.metrics ?? noopMetrics).counter(
      'quicmesh_holepunch_rendezvous_total',
      'Hole-punch coordinations by outcome',
      ['outcome'],
    );
  }

  /** A node is connected to us (a possible HolePunchStart target), seen at `observedAddr`. */
  peerSeen(party: PunchParty): void {
    const key = toHex(party.contact.id);
    this.seen.set(key, { party, announced: this.seen.get(key)?.announced ?? [] });
  }

  peerGone(nodeId: NodeId): void {
    this.seen.delete(toHex(nodeId));
  }

  register(from: PunchParty, msg: HolePunchRegister, now: number): PunchOutcome<HolePunchWaiting | HolePunchReady | HolePunchFailed> {
    this.noteAnnounced(from, msg.addrs);
    if (bytesEqual(from.contact.id, msg.target)) return this.fail(msg.target, PUNCH_FAILURE.SelfTarget);
    const mine = pairKey(from.contact.id, msg.target);
    const theirs = this.pending.get(pairKey(msg.target, from.contact.id));
    if (theirs !== undefined && now - theirs.at < this.windowMs) {
      this.pending.delete(pairKey(msg.target, from.contact.id));
      this.pending.delete(mine);
      this.mOutcomes.inc({ outcome: 'ready' });
      const [dFrom, dThem] = delays(from, theirs.party, this.startDelayMs);
      return {
        reply: ready(theirs.party, theirs.addrs, dFrom),
        effects: [{ kind: 'send', to: theirs.party.contact, msg: ready(from, msg.addrs, dThem) }],
      };
    }
    if (!this.pending.has(mine) && this.pending.size >= this.maxPending) return this.fail(msg.target, PUNCH_FAILURE.Busy);
    this.pending.set(mine, { party: from, target: Uint8Array.from(msg.target), addrs: [...msg.addrs], at: now });
    return { reply: { type: 'HolePunchWaiting', target: msg.target }, effects: [] };
  }

  start(from: PunchParty, msg: HolePunchStart): PunchOutcome<HolePunchReady | HolePunchFailed> {
    this.noteAnnounced(from, msg.addrs);
    if (bytesEqual(from.contact.id, msg.target)) return this.fail(msg.target, PUNCH_FAILURE.SelfTarget);
    const target = this.seen.get(toHex(msg.target));
    if (target === undefined) return this.fail(msg.target, PUNCH_FAILURE.UnknownTarget);
    this.mOutcomes.inc({ outcome: 'started' });
    const [dFrom, dThem] = delays(from, target.party, this.startDelayMs);
    return {
      reply: ready(target.party, target.announced, dFrom),
      // the initiator's forwarded Initial goes to the target only (it answers it toward the initiator)
      effects: [{ kind: 'send', to: target.party.contact, msg: withInitial(ready(from, msg.addrs, dThem), msg.initial) }],
    };
  }

  /** Fail registrations that waited `windowMs` in vain. */
  tick(now: number): PunchEffect[] {
    const out: PunchEffect[] = [];
    for (const [key, r] of this.pending) {
      if (now - r.at >= this.windowMs) {
        this.pending.delete(key);
        this.mOutcomes.inc({ outcome: 'timeout' });
        out.push({
          kind: 'send',
          to: r.party.contact,
          msg: { type: 'HolePunchFailed', target: r.target, reason: PUNCH_FAILURE.Timeout },
        });
      }
    }
    return out;
  }

  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const r of this.pending.values()) if (next === undefined || r.at + this.windowMs < next) next = r.at + this.windowMs;
    return next;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  private noteAnnounced(from: PunchParty, addrs: readonly string[]): void {
    this.seen.set(toHex(from.contact.id), { party: from, announced: [...addrs] });
  }

  private fail(target: NodeId, reason: string): PunchOutcome<HolePunchFailed> {
    this.mOutcomes.inc({ outcome: 'failed' });
    return { reply: { type: 'HolePunchFailed', target, reason }, effects: [] };
  }
}

function ready(peer: PunchParty, announced: readonly string[], delayMs: number): HolePunchReady {
  return { type: 'HolePunchReady', peer: peer.contact, peerAddrs: candidateList(peer.observedAddr, announced), delayMs };
}

function withInitial(msg: HolePunchReady, initial: Uint8Array | undefined): HolePunchReady {
  return initial === undefined ? msg : { ...msg, initial };
}

function pairKey(from: NodeId, to: NodeId): string {
  return `${toHex(from)}>${toHex(to)}`;
}
