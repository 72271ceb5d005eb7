import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
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
