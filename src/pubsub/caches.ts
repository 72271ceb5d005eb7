/**
 * The router's two bounded memories:
 * - SeenCache: ids of every message seen (deduplication), for `ttlMs`, at most `capacity` ids;
 * - MessageCache: the full recent messages, in history windows shifted once per gossip interval,
 *   to answer IWant and to announce in IHave gossip; with per-message bookkeeping (who is known
 *   to have it, who we pushed it to) used by the push policy.
 * Both evict oldest-first; insertion order of a Map is age order since every entry has the same TTL.
 */
import type { GossipMessage } from '../wire/messages.js';
import type { MessageId } from './message.js';

export class SeenCache {
  private readonly expiry = new Map<string, number>();

  constructor(
    private readonly capacity: number,
    private readonly ttlMs: number,
  ) {}

  has(key: string): boolean {
    return this.expiry.has(key);
  }

  /** Remember `key`; false when it was already there. */
  add(key: string, now: number): boolean {
    if (this.expiry.has(key)) return false;
    if (this.expiry.size >= this.capacity) {
      const oldest = this.expiry.keys().next().value as string;
      this.expiry.delete(oldest);
    }
    this.expiry.set(key, now + this.ttlMs);
    return true;
  }

  /** Drop expired ids. */
  prune(now: number): void {
    for (const [key, at] of this.expiry) {
      if (at > now) break;
      this.expiry.delete(key);
    }
  }

  get size(): number {
    return this.expiry.size;
  }
}

export interface CachedMessage {
  key: string;
  id: MessageId;
  msg: GossipMessage;
  /** Peers known to have the message (they sent it or announced it to us): never pushed to. */
  haves: Set<string>;
  /** Peers we pushed the full message to whose reaction is not judged yet (adaptive push). */
  pushed: Set<string> | null;
  /** Mesh peers we announced the message to (lazy push) whose reaction is not judged yet. */
  announced: Set<string> | null;
  /** When the lazy announcements went out (an IWant answering one is an RTT sample). */
  announcedAt?: number;
  /** Full copies sent per peer in answer to IWant (bounded by gossipRetransmission). */
  served: Map<string, number> | null;
}

export class MessageCache {
  private readonly entries = new Map<string, CachedMessage>();
  private windows: string[][] = [[]];

  constructor(
    private readonly capacity: number,
    private readonly historyLength: number,
  ) {}

  get(key: string): CachedMessage | undefined {
    return this.entries.get(key);
  }

  put(key: string, id: MessageId, msg: GossipMessage): CachedMessage {
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    const entry: CachedMessage = { key, id, msg, haves: new Set(), pushed: null, announced: null, served: null };
    this.entries.set(key, entry);
    this.windows[0]!.push(key);
    return entry;
  }

  /** Ids of `topic` in the `windows` most recent history windows, newest first. */
  gossipIds(topic: string, windows: number, exclude?: (e: CachedMessage) => boolean): MessageId[] {
    const out: MessageId[] = [];
    for (let w = 0; w < Math.min(windows, this.windows.length); w++) {
      for (const key of this.windows[w]!) {
        const e = this.entries.get(key);
        if (e && e.msg.topic === topic && !exclude?.(e)) out.push(e.id);
      }
    }
    return out;
  }

  /** Entries of the window `index` (0 = current), oldest first. */
  *window(index: number): Iterable<CachedMessage> {
    for (const key of this.windows[index] ?? []) {
      const e = this.entries.get(key);
      if (e) yield e;
    }
  }

  /** Open a new window; messages of the window falling off the history are forgotten. */
  shift(): void {
    this.windows.unshift([]);
    while (this.windows.length > this.historyLength) {
      for (const key of this.windows.pop()!) this.entries.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
