/**
 * The puncher: one side of a UDP hole punch toward one peer, as a pure state machine. The
 * driver sends what `poll(now)` returns from the node's QUIC socket, feeds incoming punch
 * datagrams to `onPacket`, and when the puncher succeeds dials (or awaits) QUIC on `result.addr`.
 *
 * Schedule (`punchSchedule`): from `startAt`, a round every 20–50 ms (drawn from the injected
 * rng, so the two sides do not stay in lock-step) for `durationMs` (2 s); each round sends one
 * punch to every candidate.
 *
 * Handshake: a punch carries our nonce. A punch from the peer is answered at once with an ack
 * echoing its nonce, sent to the address it came from; an ack echoing our nonce proves the
 * path both ways, so we succeed and confirm with one last ack of our own. Success is reached by
 * both sides (a lost confirm is recovered because we keep acking the other side's punches).
 *
 * Peer-reflexive learning: a punch from an address not in the candidate list (a symmetric NAT
 * picked a fresh port for us) adds that address as a candidate and is answered there. Per
 * LAB-FACTS this is what makes full-cone/restricted-cone × symmetric pairs punch.
 */
import { bytesEqual } from '../core/bytes.js';
import type { Rng } from '../core/rng.js';
import type { NodeId } from '../core/types.js';
import { ConfigError, DecodeError } from '../errors.js';
import { isHostPort } from '../wire/limits.js';
import { acknowledges, encodePunch, parsePunch, PUNCH_NONCE_BYTES } from './raw-packets.js';

export interface PunchScheduleOptions {
  rng: Rng;
  /** Bounds of the gap between rounds, ms. Default 20..50. */
  minIntervalMs?: number;
  maxIntervalMs?: number;
  /** How long to punch, ms. Default 2000. */
  durationMs?: number;
}

export interface ScheduledPunch {
  at: number;
  addr: string;
}

/** Round start times from `startAt` (inclusive) until `startAt + durationMs` (exclusive). */
export function punchRounds(startAt: number, opts: PunchScheduleOptions): number[] {
  const min = opts.minIntervalMs ?? 20;
  const max = opts.maxIntervalMs ?? 50;
  const duration = opts.durationMs ?? 2000;
  if (!(min > 0) || !(max >= min) || !(duration > 0)) {
    throw new ConfigError(`punch schedule: need 0 < minIntervalMs <= maxIntervalMs and durationMs > 0`);
  }
  const out: number[] = [];
  for (let t = startAt; t < startAt + duration; t += min + opts.rng.int(max - min + 1)) out.push(t);
  return out;
}

/** The whole plan for fixed candidates: every (time, destination) send. */
export function punchSchedule(candidates: readonly string[], startAt: number, opts: PunchScheduleOptions): ScheduledPunch[] {
  return punchRounds(startAt, opts).flatMap((at) => candidates.map((addr) => ({ at, addr })));
}

export type CandidateOrigin = 'announced' | 'peer-reflexive';
export type PuncherState = 'waiting' | 'punching' | 'succeeded' | 'failed';

export interface PunchResult {
  /** The peer's address that works both ways. */
  addr: string;
  origin: CandidateOrigin;
  /** Who opens the QUIC connection: the side with the lower NodeId dials, so there is one. */
  role: 'dial' | 'accept';
  at: number;
}

export interface OutgoingDatagram {
  addr: string;
  bytes: Uint8Array;
}

export interface PuncherOptions extends PunchScheduleOptions {
  localId: NodeId;
  peerId: NodeId;
  /** The peer's addresses from HolePunchReady (observed first). */
  candidates: readonly string[];
  startAt: number;
  /** Learn and answer unknown source addresses (default true; false only for experiments). */
  learnPeerReflexive?: boolean;
  /** Peer-reflexive candidates kept at most (a flood of spoofed sources cannot grow us). Default 8. */
  maxLearned?: number;
}

export type PunchPacketOutcome =
  | { kind: 'ignored'; reason: string }
  | { kind: 'answered'; replies: OutgoingDatagram[]; learned: boolean; succeeded: PunchResult | null };

export class Puncher {
  private readonly candidates: { addr: string; origin: CandidateOrigin }[];
  private readonly rounds: number[];
  private roundIndex = 0;
  private readonly nonce: Uint8Array;
  private readonly zero = new Uint8Array(PUNCH_NONCE_BYTES);
  private readonly learn: boolean;
  private readonly maxLearned: number;
  private learnedCount = 0;
  private done: PunchResult | null = null;
  private readonly endAt: number;
  private sent = 0;

  constructor(private readonly opts: PuncherOptions) {
    for (const a of opts.candidates) {
      if (!isHostPort(a)) throw new ConfigError(`Puncher: bad candidate ${JSON.stringify(a)}`);
    }
    if (opts.localId.length !== 32 || opts.peerId.length !== 32) throw new ConfigError('Puncher: ids must be 32 bytes');
    this.candidates = [...new Set(opts.candidates)].map((addr) => ({ addr, origin: 'announced' as const }));
    this.rounds = punchRounds(opts.startAt, opts);
    this.endAt = opts.startAt + (opts.durationMs ?? 2000);
    this.nonce = opts.rng.bytes(PUNCH_NONCE_BYTES);
    this.learn = opts.learnPeerReflexive ?? true;
    this.maxLearned = opts.maxLearned ?? 8;
  }

  state(now: number): PuncherState {
    if (this.done) return 'succeeded';
    if (now >= this.endAt) return 'failed';
    return now < this.opts.startAt ? 'waiting' : 'punching';
  }

  get result(): PunchResult | null {
    return this.done;
  }

  get packetsSent(): number {
    return this.sent;
  }

  /** Candidates now known, announced ones first. */
  candidateAddrs(): { addr: string; origin: CandidateOrigin }[] {
    return this.candidates.map((c) => ({ ...c }));
  }

  /** Punches due at `now`, and when to poll next (null once finished). */
  poll(now: number): { sends: OutgoingDatagram[]; nextAt: number | null } {
    const sends: OutgoingDatagram[] = [];
    if (this.done) return { sends, nextAt: null };
    while (this.roundIndex < this.rounds.length && this.rounds[this.roundIndex]! <= now) {
      this.roundIndex++;
      if (now < this.endAt) {
        const bytes = this.punch(false, this.zero);
        for (const c of this.candidates) sends.push({ addr: c.addr, bytes });
      }
    }
    this.sent += sends.length;
    const next = this.rounds[this.roundIndex];
    return { sends, nextAt: next !== undefined ? next : now < this.endAt ? this.endAt : null };
  }

  /** A raw punch datagram arrived from `from`. */
  onPacket(bytes: Uint8Array, from: string, now: number): PunchPacketOutcome {
    let p;
    try {
      p = parsePunch(bytes);
    } catch (e) {
      return { kind: 'ignored', reason: e instanceof DecodeError ? e.message : 'malformed' };
    }
    if (!bytesEqual(p.sender, this.opts.peerId)) return { kind: 'ignored', reason: 'not from the peer' };
    let learned = false;
    if (!this.candidates.some((c) => c.addr === from)) {
      if (!this.learn) return { kind: 'ignored', reason: 'unknown source address' };
      if (this.learnedCount >= this.maxLearned || !isHostPort(from)) return { kind: 'ignored', reason: 'too many sources' };
      this.candidates.push({ addr: from, origin: 'peer-reflexive' });
      this.learnedCount++;
      learned = true;
    }
    const replies: OutgoingDatagram[] = [];
    let succeeded: PunchResult | null = null;
    if (!p.ack) {
      // answer where it came from, even after success (the peer may still be waiting for it)
      replies.push({ addr: from, bytes: this.punch(true, p.nonce) });
    } else if (acknowledges(p, this.nonce) && this.done === null) {
      const origin = this.candidates.find((c) => c.addr === from)!.origin;
      const role = compare(this.opts.localId, this.opts.peerId) < 0 ? 'dial' : 'accept';
      this.done = succeeded = { addr: from, origin, role, at: now };
      replies.push({ addr: from, bytes: this.punch(true, p.nonce) }); // confirm
    }
    this.sent += replies.length;
    return { kind: 'answered', replies, learned, succeeded };
  }

  private punch(ack: boolean, echo: Uint8Array): Uint8Array {
    return encodePunch({ ack, nonce: this.nonce, echo, sender: this.opts.localId });
  }
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
