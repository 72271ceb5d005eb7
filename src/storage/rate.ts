/**
 * Rate bookkeeping for the protected store, driven by injected timestamps (no clock reads here).
 *
 * - StoreRateBucket: the per-peer "N stores per minute" rule as a token bucket (kept as one
 *   number, GCRA style): a peer may store `burst` values at once, then one every window/N. Only
 *   accepted stores take a token: a refused attempt costs the peer nothing, so a peer that was
 *   refused is served again as soon as the pace allows (an honest writer that retries is not
 *   locked out), while a flooder still gets no more than burst + N per window.
 * - RequestRateMeter: an approximate global request rate (sliding window from two fixed windows),
 *   used as the request-rate term of storage pressure. O(1), constant memory.
 */

export class StoreRateBucket {
  /** Time at which the bucket is full again (the "theoretical arrival time" of GCRA). */
  private fullAt = -Infinity;
  /** ms per token. */
  readonly intervalMs: number;

  constructor(
    readonly perWindow: number,
    readonly windowMs: number,
    readonly burst: number,
  ) {
    this.intervalMs = windowMs / perWindow;
  }

  /** Take a token at `now` when one is free; true when the store is within the limit. */
  tryAcquire(now: number): boolean {
    if (this.waitMs(now) > 0) return false;
    this.fullAt = Math.max(this.fullAt, now) + this.intervalMs;
    return true;
  }

  /**
   * Book the next token, even one in the future: returns the ms to wait before using it (0: now).
   * A writer pacing itself reserves, so concurrent senders get successive slots.
   */
  reserve(now: number): number {
    const wait = this.waitMs(now);
    this.fullAt = Math.max(this.fullAt, now) + this.intervalMs;
    return wait;
  }

  /** ms until a token is free (0: now). */
  waitMs(now: number): number {
    const start = Math.max(this.fullAt, now);
    return Math.max(0, start + this.intervalMs - now - this.burst * this.intervalMs);
  }

  /** True when the bucket is full again at `now` (the peer's rate state may be forgotten). */
  idle(now: number): boolean {
    return this.fullAt <= now;
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
