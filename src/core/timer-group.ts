/**
 * Repeating and one-shot timers on an injected clock, cancelled together: what every long-lived
 * service (DHT maintenance, telemetry export, keep-alives) needs so that stop() leaves nothing
 * scheduled. A task that throws is reported and keeps its schedule.
 */
import type { Clock, TimerHandle } from './clock.js';

export class TimerGroup {
  private readonly handles = new Set<TimerHandle>();
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Timers currently scheduled. */
  get size(): number {
    return this.handles.size;
  }

  /** Run `fn` every `ms`, the first time after `firstDelayMs` (default `ms`). */
  every(ms: number, fn: () => void, firstDelayMs = ms): void {
    this.schedule(firstDelayMs, () => {
      this.run(fn);
      if (!this.stopped) this.every(ms, fn);
    });
  }

  /** Run `fn` once after `ms`. */
  once(ms: number, fn: () => void): void {
    this.schedule(ms, () => this.run(fn));
  }

  /** Cancel everything; later calls schedule nothing. */
  cancelAll(): void {
    this.stopped = true;
    for (const h of this.handles) h.cancel();
    this.handles.clear();
  }

  private schedule(ms: number, fire: () => void): void {
    if (this.stopped) return;
    const handle = this.clock.setTimer(ms, () => {
      this.handles.delete(handle);
      if (!this.stopped) fire();
    });
    this.handles.add(handle);
  }

  private run(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.onError(err);
    }
  }
}
