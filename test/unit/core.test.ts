import { describe, expect, it } from 'vitest';
import { ManualClock, sleep } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';

describe('ManualClock', () => {
  it('fires timers in time order, then insertion order', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimer(20, () => fired.push('b'));
    clock.setTimer(10, () => fired.push('a'));
    clock.setTimer(20, () => fired.push('c'));
    const cancelled = clock.setTimer(15, () => fired.push('x'));
    cancelled.cancel();
    clock.advance(19);
    expect(fired).toEqual(['a']);
    expect(clock.now()).toBe(19);
    clock.advance(1);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(clock.step()).toBe(false);
  });

  it('lets a timer schedule another within the same advance', () => {
    const clock = new ManualClock();
    const at: number[] = [];
    clock.setTimer(5, () => {
      at.push(clock.now());
      clock.setTimer(5, () => at.push(clock.now()));
    });
    clock.advance(100);
    expect(at).toEqual([5, 10]);
  });

  it('elapse lets time pass without firing: a timer due meanwhile fires late, at the next step', () => {
    const clock = new ManualClock();
    const at: number[] = [];
    clock.setTimer(5, () => at.push(clock.now()));
    clock.elapse(8);
    expect(clock.now()).toBe(8);
    expect(at).toEqual([]);
    expect(clock.step()).toBe(true);
    expect(at).toEqual([8]);
  });
});

describe('sleep', () => {
  it('resolves once its time has passed on the clock', async () => {
    const clock = new ManualClock();
    let done = false;
    const p = sleep(clock, 100).then(() => (done = true));
    clock.advance(99);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await p;
    expect(done).toBe(true);
  });

  it('rejects with the abort reason and leaves no timer behind', async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const p = sleep(clock, 100, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(clock.pending).toBe(0);
    await expect(sleep(clock, 100, ac.signal)).rejects.toThrow('stop'); // already aborted
  });
});

describe('SeededRng', () => {
  it('is reproducible from a seed and uniform enough', () => {
    const a = new SeededRng(42);
    const b = new SeededRng(42);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b.next()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    expect(new SeededRng(43).next()).not.toBe(new SeededRng(42).next());
  });
});
