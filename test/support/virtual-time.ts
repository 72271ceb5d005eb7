/**
 * Driving code that runs on a ManualClock from a test: step the clock one timer at a time and let
 * promise callbacks run in between, until the awaited promise settles (or nothing is scheduled).
 */
import type { ManualClock } from '../../src/core/clock.js';
import { Keypair } from '../../src/identity/keypair.js';

/** Run virtual time until `p` settles (a memory network only moves when the clock does). */
export async function settle<T>(clock: ManualClock, p: Promise<T>, maxSteps = 5000): Promise<T> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < maxSteps; i++) {
    await new Promise((r) => setImmediate(r));
    if (done || !clock.step()) break;
  }
  return p;
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
