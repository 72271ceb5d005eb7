/**
 * RejoinKeeper on a ManualClock: no attempt while the routing table has contacts; once it is empty,
 * join attempts one at a time, spaced by the interval, until one refills it; stop ends it.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { RejoinKeeper } from '../../src/node/rejoin.js';
import { flush } from '../support/virtual-time.js';

/** Fire every timer due by `until` (promise callbacks run between them), then move the clock there. */
async function runTo(clock: ManualClock, until: number): Promise<void> {
  await flush();
  for (let at = clock.nextAt(); at !== undefined && at <= until; at = clock.nextAt()) {
    clock.step();
    await flush();
  }
  clock.advance(until - clock.now());
}

function keeper(joinTakesMs: number, answersFrom: number) {
  const clock = new ManualClock();
  let tableSize = 3;
  const attemptsAt: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const k = new RejoinKeeper({
    clock,
    intervalMs: 1_000,
    isolated: () => tableSize === 0,
    rejoin: () =>
      new Promise<boolean>((resolve) => {
        attemptsAt.push(clock.now());
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        clock.setTimer(joinTakesMs, () => {
          inFlight--;
          const ok = clock.now() >= answersFrom;
          if (ok) tableSize = 2;
          resolve(ok);
        });
      }),
  });
  return { clock, k, attemptsAt, empty: () => void (tableSize = 0), maxInFlight: () => maxInFlight };
}

describe('RejoinKeeper', () => {
  it('does nothing while the routing table has contacts', async () => {
    const { clock, k, attemptsAt } = keeper(100, 0);
    k.start();
    await runTo(clock, 10_000);
    expect(attemptsAt).toEqual([]);
  });

  it('joins again once the table is empty, one attempt at a time, until the network answers', async () => {
    const { clock, k, attemptsAt, empty, maxInFlight } = keeper(5_000, 12_000);
    k.start();
    await runTo(clock, 2_500);
    empty();
    await runTo(clock, 30_000);
    // the look at 3 s finds it empty: an attempt from 3 s to 8 s, unanswered; the next starts a second
    // after it ended (9 s) and ends at 14 s, after the network answers again (12 s): the table is full
    expect(attemptsAt).toEqual([3_000, 9_000]);
    expect(k.attempts).toBe(2);
    expect(maxInFlight()).toBe(1);
  });

  it('joins at once when a lookup needs the network, sharing an attempt in flight', async () => {
    const { clock, k, attemptsAt, empty } = keeper(500, 0);
    k.start();
    await runTo(clock, 100);
    empty();
    const joined = k.joinNow();
    await runTo(clock, 400);
    const again = k.joinNow(); // while the first attempt runs: waits for it
    await runTo(clock, 1_000);
    expect(await joined).toBe(true);
    expect(await again).toBe(true);
    expect(attemptsAt).toEqual([100]);
    expect(await k.joinNow()).toBe(true); // joined: nothing to do
    expect(attemptsAt).toEqual([100]);
  });

  it('stops looking when stopped', async () => {
    const { clock, k, attemptsAt, empty } = keeper(100, Infinity);
    k.start();
    empty();
    await runTo(clock, 1_500);
    expect(attemptsAt).toEqual([1_000]);
    k.stop();
    await runTo(clock, 10_000);
    expect(attemptsAt).toEqual([1_000]);
  });
});
