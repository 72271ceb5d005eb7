/**
 * A token bucket for per-session relay bandwidth: `ratePerSec` tokens (bytes) refill per second
 * up to `burst`. Time is passed in (ms), never read, so the relay core stays pure.
 */
import { ConfigError } from '../../errors.js';

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
    now: number,
  ) {
    if (!(ratePerSec > 0) || !(burst > 0)) {
      throw new ConfigError(`TokenBucket: rate and burst must be > 0, got ${ratePerSec} and ${burst}`);
    }
    this.tokens = burst;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSec) / 1000);
      this.last = now;
    }
  }

  /** Take `n` tokens if available (all or nothing). */
  take(n: number, now: number): boolean {
    this.refill(now);
    if (n > this.tokens) return false;
    this.tokens -= n;
    return true;
  }

  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }
}
