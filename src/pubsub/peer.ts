/**
 * What the router knows about one peer: its contact, topics, score and rate buckets.
 *
 * The score is deliberately simple: penalties are added when a peer misbehaves (bad signature,
 * malformed input, over its rate, broken IHave promise, graft during backoff); each heartbeat
 * a negative score decays toward 0. Thresholds in GossipConfig decide what a low score costs
 * (no gossip, then graylisting: all input ignored and the peer dropped from every mesh).
 */
import type { Contact } from '../core/types.js';
import type { GossipPenalties } from './config.js';
import type { PenaltyReason } from './types.js';

/** A token bucket refilled continuously at `ratePerSec`, holding at most one second's worth. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSec: number,
    now: number,
  ) {
    this.tokens = ratePerSec;
    this.last = now;
  }

  /** Take `n` tokens; false (and nothing taken) when the bucket holds fewer. */
  take(now: number, n = 1): boolean {
    if (now > this.last) {
      this.tokens = Math.min(this.ratePerSec, this.tokens + ((now - this.last) / 1000) * this.ratePerSec);
      this.last = now;
    }
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}

export class PeerState {
  readonly topics = new Set<string>();
  score = 0;
  /** IHave ids received and IWant ids received since the last heartbeat. */
  ihaveIds = 0;
  iwantIds = 0;
  readonly rpc: TokenBucket;
  readonly publish: TokenBucket;
  /** Smoothed round-trip time to the peer, ms (undefined until a first sample). */
  rttMs: number | undefined;

  constructor(
    readonly key: string,
    readonly contact: Contact,
    now: number,
    rpcPerSec: number,
    publishPerSec: number,
  ) {
    this.rpc = new TokenBucket(rpcPerSec, now);
    this.publish = new TokenBucket(publishPerSec, now);
  }

  /** Message id keys we asked this peer for (IWant), with when: its answer is an RTT sample. */
  readonly asked = new Map<string, number>();

  noteAsked(keys: string[], now: number): void {
    for (const k of keys) this.asked.set(k, now);
  }

  /** A sample from our own IHave/IWant exchanges: it only refines an estimate the transport gave. */
  refineRtt(ms: number): void {
    if (this.rttMs !== undefined) this.observeRtt(ms);
  }

  /** Fold one RTT sample in (the first one is taken as is; then a 1/8 moving average, like TCP's SRTT). */
  observeRtt(ms: number): void {
    this.rttMs = this.rttMs === undefined ? ms : this.rttMs + (ms - this.rttMs) / 8;
  }

  /** Heartbeat: decay a negative score, reset per-heartbeat counters. */
  tick(decay: number): void {
    if (this.score < 0) {
      this.score *= decay;
      if (this.score > -0.01) this.score = 0;
    }
    this.ihaveIds = 0;
    this.iwantIds = 0;
    // Answers come within a round trip; older asks are no RTT sample any more.
    this.asked.clear();
  }
}

/** The score change for one fault of kind `reason`. */
export function penaltyDelta(reason: PenaltyReason, p: GossipPenalties): number {
  switch (reason) {
    case 'invalid_signature': return p.invalidSignature;
    case 'malformed': return p.malformed;
    case 'rate_exceeded': return p.rateExceeded;
    case 'broken_promise': return p.brokenPromise;
    case 'backoff_violation': return p.backoffViolation;
  }
}
