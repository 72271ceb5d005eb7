/**
 * The clock a scenario runs on: wall-clock time whose timers keep the process alive. SystemClock's do
 * not (a node must exit when its work is done); a timeline waiting for its next entry with nothing else
 * in flight — between two churn rounds — would otherwise let `quicmesh-lab test` end half-way, silently.
 */
import type { Clock, TimerHandle } from '../../../src/core/clock.js';

export class ScenarioClock implements Clock {
  now(): number {
    return performance.now();
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const t = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(t) };
  }
}
