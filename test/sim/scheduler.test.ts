import { describe, expect, it } from 'vitest';
import { SimScheduler, SimStalledError } from '../../src/sim/scheduler.js';

describe('SimScheduler', () => {
  it('lets promise continuations run before time moves on', async () => {
    const s = new SimScheduler();
    const sleep = (ms: number): Promise<void> => new Promise((r) => s.clock.setTimer(ms, r));
    const seen: string[] = [];
    async function worker(name: string, delays: number[]): Promise<void> {
      for (const d of delays) {
        await sleep(d);
        await Promise.resolve();
        await Promise.resolve();
        // The continuation of a timer fired at t must observe t, not a later instant.
        seen.push(`${name}@${s.now()}`);
      }
    }
    const done = Promise.all([worker('a', [10, 10, 10]), worker('b', [15, 1, 30])]);
    await s.run(done, 1000);
    expect(seen).toEqual(['a@10', 'b@15', 'b@16', 'a@20', 'a@30', 'b@46']);
    expect(s.stats().events).toBe(6);
  });

  it('fires same-instant timers in one batch, in insertion order', async () => {
    const s = new SimScheduler();
    const order: number[] = [];
    for (let i = 0; i < 5; i++) s.clock.setTimer(7, () => order.push(i));
    s.clock.setTimer(7, () => s.clock.setTimer(0, () => order.push(99)));
    expect(await s.runUntil(() => order.length === 6, 100)).toBe('done');
    expect(order).toEqual([0, 1, 2, 3, 4, 99]);
    expect(s.stats()).toEqual({ events: 7, batches: 1 });
  });

  it('reports deadline and idle, and run() turns them into SimStalledError', async () => {
    const s = new SimScheduler();
    s.clock.setTimer(500, () => undefined);
    expect(await s.runUntil(() => false, 100)).toBe('deadline');
    expect(s.now()).toBe(100);
    expect(await s.runUntil(() => false, 1000)).toBe('idle');
    expect(s.now()).toBe(500);
    const never = new Promise<void>(() => undefined);
    await expect(s.run(never, 50)).rejects.toBeInstanceOf(SimStalledError);
    await expect(s.run(never, 50)).rejects.toMatchObject({ outcome: 'idle' });
  });

  it('returns the value of the awaited promise and propagates its rejection', async () => {
    const s = new SimScheduler();
    const later = <T>(ms: number, v: T): Promise<T> => new Promise((r) => s.clock.setTimer(ms, () => r(v)));
    expect(await s.run(later(25, 'ok'), 100)).toBe('ok');
    const failing = later(5, 0).then(() => {
      throw new Error('boom');
    });
    await expect(s.run(failing, 100)).rejects.toThrow('boom');
  });

  it('runFor advances the clock even with nothing scheduled', async () => {
    const s = new SimScheduler();
    const fired: number[] = [];
    s.clock.setTimer(30, () => fired.push(s.now()));
    await s.runFor(100);
    expect(fired).toEqual([30]);
    expect(s.now()).toBe(100);
  });
});
