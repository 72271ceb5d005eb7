/**
 * Rate bookkeeping for the protected store, driven by injected timestamps (no clock reads here).
 *
 * - AttemptWindow: the exact per-peer "at most N stores per minute" rule. It keeps the times of the
 *   last N attempts in a ring; a new attempt is allowed iff the N-th most recent one is at least a
 *   window old. Every attempt is recorded, refused or not, so a peer that keeps hammering stays
 *   refused until it pauses for a whole window. O(1) per attempt, N numbers of memory.
 * - RequestRateMeter: an approximate global request rate (sliding window from two fixed windows),
 *   used as the request-rate term of storage pressure. O(1), constant memory.
 */

export class AttemptWindow {
  /** Grows on demand up to `limit`, so a generous limit costs memory only when actually used. */
  private times: Float64Array;
  private next = 0;
  private recorded = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {
    this.times = new Float64Array(Math.min(limit, 4));
  }

  /** Record an attempt at `now`; true when it is within the limit. */
  tryAcquire(now: number): boolean {
    const allowed = this.recorded < this.limit || now - this.times[this.next]! >= this.windowMs;
    if (this.recorded === this.times.length && this.recorded < this.limit) {
      // Not wrapped yet (next === recorded): grow in place order.
      const bigger = new Float64Array(Math.min(this.limit, this.times.length * 2));
      bigger.set(this.times);
      this.times = bigger;
      this.next = this.recorded;
    }
    this.times[this.next] = now;
    this.next = (this.next + 1) % this.times.length;
    if (this.recorded < this.limit) this.recorded++;
    return allowed;
  }

  /** Time of the most recent attempt, or -Infinity when none. */
  lastAttempt(): number {
    if (this.recorded === 0) return -Infinity;
    return this.times[(this.next + this.times.length - 1) % this.times.length]!;
  }
}

export class RequestRateMeter {
  private windowStart = -Infinity;
  private current = 0;
  private previous = 0;

  constructor(readonly windowMs: number) {}

  record(now: number): void {
    this.roll(now);
    this.current++;
  }

  /** Requests per second over roughly the last window. */
  perSecond(now: number): number {
    this.roll(now);
    const elapsed = Math.min(1, Math.max(0, (now - this.windowStart) / this.windowMs));
    const estimate = this.previous * (1 - elapsed) + this.current;
    return estimate / (this.windowMs / 1000);
  }

  private roll(now: number): void {
    if (this.windowStart === -Infinity) {
      this.windowStart = now;
      return;
    }
    const windows = Math.floor((now - this.windowStart) / this.windowMs);
    if (windows <= 0) return;
    this.previous = windows === 1 ? this.current : 0;
    this.current = 0;
    this.windowStart += windows * this.windowMs;
  }
}
