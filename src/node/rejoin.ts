/**
 * RejoinKeeper: a node cut off from every DHT server (a partition, a long outage: each failed request
 * evicts its contact, so the routing table empties) has nobody left to ask, and no lookup of its own
 * would ever refill the table. While the table is empty, the keeper joins again through the configured
 * bootstrap peers — one attempt at a time, the next `intervalMs` after the last ended — so the node finds
 * the network (and republishes its endpoint record) soon after it is reachable again. On the injected clock.
 */
import type { Clock, TimerHandle } from '../core/clock.js';

/** What a RejoinKeeper watches and does, and how often it looks. */
export interface RejoinKeeperOptions {
  clock: Clock;
  /** Is the routing table empty (nobody left to ask)? */
  isolated(): boolean;
  /** One join attempt through the bootstrap peers; resolves whether one answered. Must not reject. */
  rejoin(): Promise<boolean>;
  /** ms between looks, and after an attempt before the next. Default 1 000. */
  intervalMs?: number;
}

/** Default period of a RejoinKeeper's look at the routing table, ms. */
export const DEFAULT_REJOIN_INTERVAL_MS = 1_000;

export class RejoinKeeper {
  private timer: TimerHandle | undefined;
  private running: Promise<boolean> | null = null;
  private stopped = true;
  private attemptCount = 0;
  private readonly intervalMs: number;

  constructor(private readonly opts: RejoinKeeperOptions) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_REJOIN_INTERVAL_MS;
  }

  /** Join attempts made so far. */
  get attempts(): number {
    return this.attemptCount;
  }

  /** Start looking (again); idempotent. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /**
   * Someone needs the network now (a lookup): while the table is empty, wait for the attempt in
   * flight, or start one at once instead of at the next look. Resolves whether the node is joined.
   */
  async joinNow(): Promise<boolean> {
    if (this.stopped || !this.opts.isolated()) return !this.opts.isolated();
    if (this.running !== null) await this.running;
    if (!this.opts.isolated()) return true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.attempt();
    return !this.opts.isolated();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.opts.clock.setTimer(this.intervalMs, () => this.tick());
  }

  private tick(): void {
    this.timer = undefined;
    if (this.stopped || this.running !== null) return;
    if (!this.opts.isolated()) return this.schedule();
    void this.attempt();
  }

  /** One attempt; the next look is scheduled when it ends. */
  private attempt(): Promise<boolean> {
    this.attemptCount++;
    const run = this.opts.rejoin().catch(() => false);
    this.running = run;
    void run.then(() => {
      this.running = null;
      if (this.timer === undefined) this.schedule();
    });
    return run;
  }
}
