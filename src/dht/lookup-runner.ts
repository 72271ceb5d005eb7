/**
 * Drives a pure LookupQuery over asynchronous I/O: sends the queries `next()` asks for, feeds each
 * answer or failure back, and keeps one clock timer armed at the next per-peer deadline so a silent
 * peer cannot stall the lookup. Everything time-related goes through the injected Clock.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { Contact } from '../core/types.js';
import type { NetCoord } from '../wire/messages.js';
import type { LookupQuery, LookupResult } from './lookup.js';

export interface LookupAnswer {
  contacts: readonly Contact[];
  /** A verified value (value lookups only). */
  value?: Uint8Array;
  /** The replier's knowledge of each contact's network coordinate (tiering on). */
  coords?: readonly (NetCoord | null)[];
}

export interface LookupIo {
  clock: Clock;
  /** Query one contact; reject when it fails. */
  ask(contact: Contact): Promise<LookupAnswer>;
}

export class LookupRun {
  readonly promise: Promise<LookupResult>;
  private resolve!: (r: LookupResult) => void;
  private timer: TimerHandle | undefined;
  private timerAt = -1;
  private done = false;

  constructor(
    private readonly query: LookupQuery,
    private readonly io: LookupIo,
  ) {
    this.promise = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }

  start(): Promise<LookupResult> {
    this.pump();
    return this.promise;
  }

  /** Finish now with what is known (on shutdown). */
  cancel(): void {
    if (this.done) return;
    this.complete(this.query.cancel(this.io.clock.now()));
  }

  private pump(): void {
    while (!this.done) {
      const step = this.query.next(this.io.clock.now());
      if (step.kind === 'query') {
        for (const c of step.contacts) this.send(c);
        continue;
      }
      if (step.kind === 'wait') this.arm(step.until);
      else this.complete(step.result);
      return;
    }
  }

  private send(contact: Contact): void {
    this.io.ask(contact).then(
      (answer) => {
        if (this.done) return;
        this.query.onResponse(contact.id, answer.contacts, this.io.clock.now(), answer.value, answer.coords);
        this.pump();
      },
      () => {
        if (this.done) return;
        this.query.onFailure(contact.id, this.io.clock.now());
        this.pump();
      },
    );
  }

  private arm(until: number | undefined): void {
    if (until === undefined) {
      this.disarm();
      return;
    }
    if (this.timer && this.timerAt === until) return;
    this.disarm();
    this.timerAt = until;
    this.timer = this.io.clock.setTimer(until - this.io.clock.now(), () => {
      this.timer = undefined;
      this.timerAt = -1;
      this.pump();
    });
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = -1;
  }

  private complete(result: LookupResult): void {
    this.done = true;
    this.disarm();
    this.resolve(result);
  }
}
