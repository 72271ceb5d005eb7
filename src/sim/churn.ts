/**
 * Churn for simulations: nodes leaving (they stop answering: every message to them is lost, so
 * their peers see timeouts, as with a crashed host) and new nodes joining (they bootstrap).
 *
 * Two shapes, both seeded:
 * - `pickChurned`: a fixed fraction of the nodes goes down at once, e.g. before a lookup phase;
 * - `ChurnProcess`: leaves and joins as Poisson processes over virtual time, driven by the clock.
 * The module knows nothing about the DHT: the scenario supplies `leave` / `join` callbacks.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Rng } from '../core/rng.js';
import { shuffle } from '../core/rng.js';
import { ConfigError } from '../errors.js';

/** A seeded choice of `round(fraction * live.length)` members of `live`, in a deterministic order. */
export function pickChurned<T>(live: readonly T[], fraction: number, rng: Rng): T[] {
  if (!(fraction >= 0 && fraction < 1)) throw new ConfigError(`churn fraction must be in [0, 1), got ${fraction}`);
  const count = Math.round(fraction * live.length);
  return shuffle([...live], rng).slice(0, count);
}

export interface ChurnProcessOptions {
  clock: Clock;
  rng: Rng;
  /** Mean node departures per virtual second (0 for none). */
  leavesPerSec: number;
  /** Mean node arrivals per virtual second (0 for none). */
  joinsPerSec: number;
  /** Take one node down; `pick` chooses among the live ones. Returns false when no node can leave. */
  leave(pick: (count: number) => number): boolean;
  /** Start one new node (it bootstraps on its own; errors are the callee's to count). */
  join(): void;
}

/** Exponential inter-arrival time (ms) for a Poisson process of `perSec` events per second. */
function nextGapMs(rng: Rng, perSec: number): number {
  // 1 - next() is in (0, 1], so the log is finite.
  return (-Math.log(1 - rng.next()) / perSec) * 1000;
}

/** Continuous churn: leaves and joins at independent Poisson rates until stopped. */
export class ChurnProcess {
  private leaveTimer: TimerHandle | undefined;
  private joinTimer: TimerHandle | undefined;
  private running = false;
  left = 0;
  joined = 0;

  constructor(private readonly opts: ChurnProcessOptions) {
    for (const [name, v] of [['leavesPerSec', opts.leavesPerSec], ['joinsPerSec', opts.joinsPerSec]] as const) {
      if (!(v >= 0 && Number.isFinite(v))) throw new ConfigError(`${name} must be a finite number >= 0, got ${v}`);
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.scheduleLeave();
    this.scheduleJoin();
  }

  stop(): void {
    this.running = false;
    this.leaveTimer?.cancel();
    this.joinTimer?.cancel();
    this.leaveTimer = this.joinTimer = undefined;
  }

  private scheduleLeave(): void {
    const { clock, rng, leavesPerSec } = this.opts;
    if (!this.running || leavesPerSec === 0) return;
    this.leaveTimer = clock.setTimer(nextGapMs(rng, leavesPerSec), () => {
      if (this.opts.leave((n) => rng.int(n))) this.left++;
      this.scheduleLeave();
    });
  }

  private scheduleJoin(): void {
    const { clock, rng, joinsPerSec } = this.opts;
    if (!this.running || joinsPerSec === 0) return;
    this.joinTimer = clock.setTimer(nextGapMs(rng, joinsPerSec), () => {
      this.opts.join();
      this.joined++;
      this.scheduleJoin();
    });
  }
}
