/**
 * Time as an injected component. Protocol logic reads `clock.now()` and schedules through
 * `clock.setTimer`, never Date.now()/setTimeout, so the same code runs in real time and in the
 * simulator's virtual time.
 */
export interface TimerHandle {
  cancel(): void;
}

/** Time and timers, injected so tests and the simulator can run on virtual time. */
export interface Clock {
  /** Milliseconds; monotonic within one clock. */
  now(): number;
  /** Run `fn` once after `ms` milliseconds. */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

/** Resolve after `ms` on `clock`; reject with the signal's reason when it aborts first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      timer.cancel();
      reject(signal?.reason ?? new Error('aborted'));
    };
    const timer = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Wall-clock time for real nodes. Timers are unref'd so they never keep the process alive alone. */
export class SystemClock implements Clock {
  private readonly origin = performance.timeOrigin;
  now(): number {
    return this.origin + performance.now();
  }
  setTimer(ms: number, fn: () => void): TimerHandle {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  }
}

interface PendingTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to: for unit tests and the simulator. Timers fire in
 * (time, insertion) order, which keeps runs deterministic.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private heap: PendingTimer[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: PendingTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
        // Drop the callback now: a cancelled timer stays in the heap until its time comes, and
        // its closure (request state, messages) should not live that long.
        timer.fn = noop;
      },
    };
  }

  /** Number of timers not yet fired or cancelled (cancelled ones are dropped lazily). */
  get pending(): number {
    return this.heap.filter((t) => !t.cancelled).length;
  }

  /** Time of the next live timer, or undefined when none is pending. */
  nextAt(): number | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0]?.at;
  }

  /** Fire the next live timer (moving time to it); false when none is pending. */
  step(): boolean {
    while (this.heap.length > 0) {
      const t = this.pop()!;
      if (t.cancelled) continue;
      this.current = Math.max(this.current, t.at);
      t.fn();
      return true;
    }
    return false;
  }

  /**
   * Let `ms` pass without firing anything, as a stretch of synchronous work does: timers that fall
   * due meanwhile fire late, at the next step() or advance().
   */
  elapse(ms: number): void {
    this.current += Math.max(0, ms);
  }

  /** Fire every timer due up to `now() + ms`, then set time to that point. */
  advance(ms: number): void {
    const until = this.current + ms;
    for (;;) {
      const at = this.nextAt();
      if (at === undefined || at > until) break;
      this.step();
    }
    this.current = until;
  }

  private push(t: PendingTimer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private pop(): PendingTimer | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}

function noop(): void {}

function less(a: PendingTimer, b: PendingTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
