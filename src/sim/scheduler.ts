/**
 * The simulator's virtual-time runner. It owns a ManualClock and moves it from one timer
 * instant to the next, as fast as the CPU allows.
 *
 * Protocol code is Promise-based: a timer callback (say, a message delivery) resolves a
 * promise whose continuation runs later as a microtask and may schedule more timers. Time must
 * not move on until those continuations have run, or they would read a later `now()` and act
 * on a state that has moved past them. So the runner works in batches:
 *
 *   1. fire every timer due at the earliest pending instant (timers added at that same instant
 *      by the batch itself fire in it too: they belong to the same moment);
 *   2. yield one macrotask (`setImmediate`). Node drains the whole microtask queue, including
 *      chains of continuations that enqueue further microtasks, before any macrotask runs;
 *   3. repeat.
 *
 * One batch costs one setImmediate round (< 1 µs in Node 20) plus the callbacks themselves, so
 * the runner's own overhead stays far below the 200k events/s budget. Ordering is fully
 * determined by (time, insertion order) of the ManualClock, so a seeded run replays exactly.
 */
import { ManualClock } from '../core/clock.js';
import { ConfigError, QuicmeshError } from '../errors.js';

/** Why `runUntil` returned. */
export type RunOutcome =
  /** The promise settled or the predicate became true. */
  | 'done'
  /** Virtual time reached the limit first. */
  | 'deadline'
  /** No timer is pending and nothing can make progress any more. */
  | 'idle';

/** A simulated run did not reach its goal: `outcome` says whether time ran out or everything stalled. */
export class SimStalledError extends QuicmeshError {
  constructor(
    readonly outcome: Exclude<RunOutcome, 'done'>,
    message: string,
  ) {
    super(message);
  }
}

export type RunGoal = Promise<unknown> | (() => boolean);

export interface SchedulerStats {
  /** Timer callbacks fired so far. */
  events: number;
  /** Batches (distinct instants) processed; each costs one macrotask yield. */
  batches: number;
}

const yieldMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class SimScheduler {
  readonly clock: ManualClock;
  private fired = 0;
  private batches = 0;

  constructor(clock: ManualClock = new ManualClock()) {
    this.clock = clock;
  }

  now(): number {
    return this.clock.now();
  }

  stats(): SchedulerStats {
    return { events: this.fired, batches: this.batches };
  }

  /**
   * Run virtual time until `goal` is met (a promise settles, or a predicate — checked after
   * every batch — returns true), for at most `maxVirtualMs` of virtual time from now.
   * A rejected goal promise counts as 'done': await the promise itself to see its result.
   */
  async runUntil(goal: RunGoal, maxVirtualMs: number): Promise<RunOutcome> {
    if (!(maxVirtualMs >= 0)) throw new ConfigError(`maxVirtualMs must be a non-negative number, got ${maxVirtualMs}`);
    const deadline = this.clock.now() + maxVirtualMs;
    let isDone: () => boolean;
    if (typeof goal === 'function') {
      isDone = goal;
    } else {
      let settled = false;
      const mark = (): void => {
        settled = true;
      };
      goal.then(mark, mark);
      isDone = () => settled;
    }

    // Let the caller's synchronous start-up continue (it may schedule the first timers).
    await yieldMacrotask();
    const clock = this.clock;
    for (;;) {
      if (isDone()) return 'done';
      const at = clock.nextAt();
      if (at === undefined) {
        // Nothing scheduled: if continuations are still pending they ran in the yield above,
        // so an empty heap now means nothing will ever happen.
        return 'idle';
      }
      if (at > deadline) {
        clock.advance(deadline - clock.now());
        return 'deadline';
      }
      do {
        clock.step();
        this.fired++;
      } while (clock.nextAt() === at);
      this.batches++;
      await yieldMacrotask();
    }
  }

  /** Run until `promise` settles and return its value; throws SimStalledError on deadline or stall. */
  async run<T>(promise: Promise<T>, maxVirtualMs: number): Promise<T> {
    // Attach a handler now so a rejection during the run is not reported as unhandled.
    promise.catch(() => undefined);
    const outcome = await this.runUntil(promise, maxVirtualMs);
    if (outcome !== 'done') {
      throw new SimStalledError(
        outcome,
        outcome === 'idle'
          ? `simulation stalled at t=${this.clock.now()}ms: no timer pending and the operation has not settled`
          : `operation did not settle within ${maxVirtualMs}ms of virtual time`,
      );
    }
    return promise;
  }

  /** Advance virtual time by `ms`, processing everything due on the way. */
  async runFor(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    await this.runUntil(() => false, ms);
    // On 'idle' the clock stopped early: nothing else is due before `target`.
    if (this.clock.now() < target) this.clock.advance(target - this.clock.now());
  }
}
