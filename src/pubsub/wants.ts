/**
 * Messages we know exist (a peer announced them with IHave) but have not received: whom to ask
 * (IWant) and when, and whom to ask next when a promise is not kept within the follow-up time.
 * Pure bookkeeping: the router turns `due()` into IWant messages and penalties.
 */
import type { MessageId } from './message.js';

interface Want {
  id: MessageId;
  /** Peers that announced the id, in announcement order; `next` indexes the next to ask. */
  announcers: string[];
  next: number;
  /** The peer asked last, awaiting delivery; null before the first ask. */
  asked: string | null;
  /** When to ask (first time) or to give up on `asked` and ask the next announcer. */
  due: number;
}

/** One step of the IWant schedule: ask `ask` for `id`; `broken` failed to deliver what it promised. */
export interface WantAction {
  key: string;
  id: MessageId;
  ask: string | null;
  broken: string | null;
}

export class WantTracker {
  private readonly wants = new Map<string, Want>();

  constructor(
    private readonly followupMs: number,
    /** Most ids tracked at once; further announcements are ignored until some resolve. */
    private readonly capacity: number,
  ) {}

  has(key: string): boolean {
    return this.wants.has(key);
  }

  get size(): number {
    return this.wants.size;
  }

  /**
   * Note that `peer` announced `key`. Returns true when this is a new want: the caller then asks
   * at `firstAskAt` (immediately when that is now).
   */
  announce(key: string, id: MessageId, peer: string, firstAskAt: number): boolean {
    const w = this.wants.get(key);
    if (w) {
      if (!w.announcers.includes(peer) && w.announcers.length < 16) w.announcers.push(peer);
      return false;
    }
    if (this.wants.size >= this.capacity) return false;
    this.wants.set(key, { id, announcers: [peer], next: 0, asked: null, due: firstAskAt });
    return true;
  }

  /** The first announcer of a new want was asked right away, at `now`. */
  askedFirst(key: string, now: number): void {
    const w = this.wants.get(key);
    if (!w || w.next !== 0) return;
    w.asked = w.announcers[w.next++]!;
    w.due = now + this.followupMs;
  }

  /** The message arrived: nothing more to ask. */
  resolve(key: string): void {
    this.wants.delete(key);
  }

  /** Forget a departed peer as an announcer (it stays `asked` until its follow-up expires). */
  dropPeer(peer: string): void {
    for (const w of this.wants.values()) {
      const i = w.announcers.indexOf(peer);
      if (i >= w.next) w.announcers.splice(i, 1);
    }
  }

  /** Every action due at `now`; wants with no announcer left are dropped. */
  due(now: number): WantAction[] {
    const out: WantAction[] = [];
    for (const [key, w] of this.wants) {
      if (w.due > now) continue;
      const broken = w.asked;
      const ask = w.next < w.announcers.length ? w.announcers[w.next++]! : null;
      if (ask === null) this.wants.delete(key);
      else {
        w.asked = ask;
        w.due = now + this.followupMs;
      }
      out.push({ key, id: w.id, ask, broken });
    }
    return out;
  }

  /** Earliest pending due time, if any. */
  nextDue(): number | undefined {
    let min: number | undefined;
    for (const w of this.wants.values()) if (min === undefined || w.due < min) min = w.due;
    return min;
  }
}
