import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { TimerGroup } from '../../src/core/timer-group.js';

describe('TimerGroup', () => {
  it('repeats, runs one-shots, survives a throwing task and cancels everything', () => {
    const clock = new ManualClock();
    const errors: unknown[] = [];
    const group = new TimerGroup(clock, (e) => errors.push(e));
    const ticks: number[] = [];
    group.every(100, () => ticks.push(clock.now()), 10);
    group.once(50, () => {
      throw new Error('boom');
    });
    clock.advance(350);
    expect(ticks).toEqual([10, 110, 210, 310]);
    expect(errors).toHaveLength(1);
    expect(group.size).toBe(1);
    group.cancelAll();
    expect(group.size).toBe(0);
    clock.advance(1000);
    expect(ticks).toHaveLength(4);
    group.once(1, () => ticks.push(-1));
    clock.advance(10);
    expect(ticks).toHaveLength(4);
    expect(clock.pending).toBe(0);
  });
});
