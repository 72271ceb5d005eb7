/**
 * The writer's side of the per-peer STORE limit. Every node accepts from one peer a burst of
 * stores, then N a minute (ProtectedStore, a token bucket). A writer that puts faster than that —
 * an application publishing 40 values back to back, each sent to the same k closest nodes in a
 * small network — would see most replicas refused. So the writer keeps a mirror of each remote
 * node's bucket and books a slot before every Store request: the first `burst` go at once, the
 * rest wait for their turn (on the injected clock). A store still refused as RateLimited (the
 * remote counted another burst of ours, or a slower clock) is retried at the next slot, a few
 * times. Each mirror runs a little slower than the remote limit (PACE_MARGIN_MS a token), so
 * network jitter does not land a paced store just before its token.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { PER_PEER_RATE_LIMIT, PER_PEER_STORE_BURST } from '../constants.js';
import { ConfigError } from '../errors.js';
import { StoreRateBucket } from '../storage/rate.js';

/** The limit a writer assumes every remote node enforces on its stores. */
export interface StorePacing {
  /** Stores a minute to one remote node (the spec's per-peer rate limit). */
  perMinute: number;
  /** Stores sent at once before the pace applies. */
  burst: number;
  /** Retries of a store refused as RateLimited. */
  retries: number;
}

export const DEFAULT_STORE_PACING: Readonly<StorePacing> = Object.freeze({
  perMinute: PER_PEER_RATE_LIMIT,
  burst: PER_PEER_STORE_BURST,
  retries: 3,
});

/** Extra ms per token of the writer's mirror bucket, against jitter. */
export const PACE_MARGIN_MS = 50;
/** Above this many mirrors, idle ones (full buckets) are forgotten. */
const PRUNE_ABOVE = 1024;
const MINUTE_MS = 60_000;

export class StorePacer {
  readonly pacing: StorePacing;
  private readonly mirrors = new Map<string, StoreRateBucket>();
  private readonly waits = new Set<{ handle: TimerHandle; wake: () => void }>();
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    pacing: Partial<StorePacing> = {},
  ) {
    this.pacing = { ...DEFAULT_STORE_PACING, ...pacing };
    const { perMinute, burst, retries } = this.pacing;
    if (!(Number.isFinite(perMinute) && perMinute > 0)) throw new ConfigError(`storePacing.perMinute must be a positive number, got ${perMinute}`);
    if (!(Number.isInteger(burst) && burst >= 1)) throw new ConfigError(`storePacing.burst must be an integer >= 1, got ${burst}`);
    if (!(Number.isInteger(retries) && retries >= 0)) throw new ConfigError(`storePacing.retries must be an integer >= 0, got ${retries}`);
  }

  /** Mirrors currently kept (for tests: bounded). */
  get size(): number {
    return this.mirrors.size;
  }

  /** Book the next slot for a Store to `peer` (hex NodeId) and wait for it. Returns the ms waited. */
  async acquire(peer: string): Promise<number> {
    const now = this.clock.now();
    const wait = this.mirror(peer, now).reserve(now);
    if (wait > 0 && !this.stopped) await this.sleep(wait);
    return wait;
  }

  /**
   * One replica through the pacer: wait for `peer`'s slot, send, and on a RateLimited refusal wait for
   * the next slot and send again (up to `pacing.retries` times). Null when stopped while waiting.
   */
  async send<A extends { rejection: string | null; error?: string }>(peer: string, send: () => Promise<A>, onRetry: () => void): Promise<A | null> {
    for (let attempt = 0; ; attempt++) {
      await this.acquire(peer);
      if (this.stopped) return null;
      const ack = await send();
      if (ack.rejection !== 'RateLimited' || ack.error !== undefined || attempt >= this.pacing.retries) return ack;
      onRetry();
    }
  }

  /** Wake every waiting store (they find the DHT stopped) and schedule nothing more. */
  stop(): void {
    this.stopped = true;
    for (const w of this.waits) {
      w.handle.cancel();
      w.wake();
    }
    this.waits.clear();
  }

  private mirror(peer: string, now: number): StoreRateBucket {
    let bucket = this.mirrors.get(peer);
    if (bucket) return bucket;
    if (this.mirrors.size >= PRUNE_ABOVE) {
      for (const [id, b] of this.mirrors) if (b.idle(now)) this.mirrors.delete(id);
    }
    const { perMinute, burst } = this.pacing;
    const intervalMs = MINUTE_MS / perMinute + PACE_MARGIN_MS;
    bucket = new StoreRateBucket(1, intervalMs, burst);
    this.mirrors.set(peer, bucket);
    return bucket;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        handle: this.clock.setTimer(ms, () => {
          this.waits.delete(entry);
          resolve();
        }),
        wake: resolve,
      };
      this.waits.add(entry);
    });
  }
}
