/**
 * Driving code that runs on a ManualClock from a test: step the clock one timer at a time and let
 * promise callbacks run in between, until the awaited promise settles.
 */
import type { ManualClock } from '../../src/core/clock.js';
import { Keypair } from '../../src/identity/keypair.js';

/** One turn of the event loop: every promise callback queued before it has run when it resolves. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Turns a stalled run gets (no timer left) to finish on promise callbacks alone. */
const IDLE_TURNS = 10;

/**
 * Run virtual time until `p` settles (a memory network only moves when the clock does), and
 * return it. Rejects, saying why, when no timer is left and `p` is still pending, or when it is
 * still pending after `maxSteps` timers.
 */
export async function settle<T>(clock: ManualClock, p: Promise<T>, maxSteps = 2_000_000): Promise<T> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await runUntil(clock, 'the promise to settle', () => done, maxSteps);
  return p;
}

/** Run virtual time until `cond()` holds, checked after every timer; rejects like settle when it never does. */
export function settleUntil(clock: ManualClock, what: string, cond: () => boolean, maxSteps = 2_000_000): Promise<void> {
  return runUntil(clock, what, cond, maxSteps);
}

async function runUntil(clock: ManualClock, what: string, done: () => boolean, maxSteps: number): Promise<void> {
  for (let steps = 0, idle = 0; ; ) {
    await flush();
    if (done()) return;
    if (clock.step()) {
      idle = 0;
      if (++steps >= maxSteps) throw new Error(`still waiting for ${what} after ${maxSteps} timers`);
    } else if (++idle > IDLE_TURNS) {
      throw new Error(`no timer left, still waiting for ${what}`);
    }
  }
}

/** Deterministic keypairs: `next()` gives the one for `seed`, then moves `seed` on by one. */
export function seededKeypairs(start: number): { next(): Keypair; readonly seed: number } {
  let seed = start;
  return {
    next() {
      const s = new Uint8Array(32);
      new DataView(s.buffer).setUint32(0, seed++);
      return Keypair.generate(s);
    },
    get seed() {
      return seed;
    },
  };
}
