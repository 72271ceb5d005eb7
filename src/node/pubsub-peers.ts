/**
 * PubsubPeerFeed: keeps the gossip router supplied with candidate peers from the DHT's routing
 * table. Every refresh (on components.clock) it
 *   - forgets peers it fed that the driver has since dropped (sends kept failing) and holds them
 *     back for `retryAfterMs`, so a dead contact the DHT has not evicted yet is not re-added at once;
 *   - removes from gossip the peers it fed that have left the routing table (the DHT evicted them);
 *   - tops the router up to `maxPeers` with random routing-table contacts it does not know yet.
 * Random picks (not the XOR-closest) because gossip wants a random graph: closest-only picks would
 * cluster the mesh by id prefix. Peers that reach us on their own (the router adopts them) count
 * toward the bound but are never removed here.
 */
import { toHex } from '../core/bytes.js';
import type { TimerHandle } from '../core/clock.js';
import type { Components } from '../core/components.js';
import { shuffle } from '../core/rng.js';
import type { Contact, NodeId } from '../core/types.js';
import { ConfigError } from '../errors.js';

/** Where contacts come from (DhtNode.table satisfies it). */
export interface ContactSource {
  allContacts(): Contact[];
}

/** Where they go (create-node adapts GossipSub to it). */
export interface PeerSink {
  addPeer(contact: Contact): boolean;
  removePeer(contact: Contact): void;
  hasPeer(id: NodeId): boolean;
  readonly peerCount: number;
}

/** Settings of a PubsubPeerFeed: the peer bound, the refresh period, the hold-off for dropped peers. */
export interface PubsubPeerFeedOptions {
  /** Bound on the router's peers that the feed fills up to (default 30). */
  maxPeers?: number;
  /** Period of the refresh, ms (default 5000). */
  refreshIntervalMs?: number;
  /** A fed peer the driver dropped is not re-added for this long, ms (default 60000). */
  retryAfterMs?: number;
}

/** Default bound on the gossip peers a PubsubPeerFeed fills up to. */
export const DEFAULT_PUBSUB_MAX_PEERS = 30;
/** Default period of a PubsubPeerFeed's refresh, ms. */
export const DEFAULT_PUBSUB_REFRESH_MS = 5_000;
/** Default time before a peer the gossip driver dropped is fed again, ms. */
export const DEFAULT_PUBSUB_RETRY_AFTER_MS = 60_000;

/** What one PubsubPeerFeed refresh did: peers added to and removed from gossip. */
export interface FeedRefresh {
  added: number;
  removed: number;
}

/** Keeps gossip supplied with peers: random contacts from the DHT's routing table, up to a bound, on the clock. */
export class PubsubPeerFeed {
  readonly maxPeers: number;
  readonly refreshIntervalMs: number;
  readonly retryAfterMs: number;
  /** Peers this feed added and believes the router still holds, by hex id. */
  private readonly fed = new Map<string, Contact>();
  /** Hex id -> clock time before which the peer is not fed again. */
  private readonly holdUntil = new Map<string, number>();
  private timer: TimerHandle | null = null;
  private stopped = false;

  constructor(
    private readonly source: ContactSource,
    private readonly sink: PeerSink,
    private readonly c: Components,
    opts: PubsubPeerFeedOptions = {},
  ) {
    this.maxPeers = opts.maxPeers ?? DEFAULT_PUBSUB_MAX_PEERS;
    this.refreshIntervalMs = opts.refreshIntervalMs ?? DEFAULT_PUBSUB_REFRESH_MS;
    this.retryAfterMs = opts.retryAfterMs ?? DEFAULT_PUBSUB_RETRY_AFTER_MS;
    if (!Number.isInteger(this.maxPeers) || this.maxPeers < 1) {
      throw new ConfigError(`pubsub peers maxPeers must be an integer >= 1, got ${this.maxPeers}`);
    }
    if (!(this.refreshIntervalMs > 0)) {
      throw new ConfigError(`pubsub peers refreshIntervalMs must be > 0, got ${this.refreshIntervalMs}`);
    }
    if (!(this.retryAfterMs >= 0)) {
      throw new ConfigError(`pubsub peers retryAfterMs must be >= 0, got ${this.retryAfterMs}`);
    }
  }

  /** Peers currently fed by this feed. */
  get size(): number {
    return this.fed.size;
  }

  /** Refresh now and then every refreshIntervalMs until stop(). Idempotent. */
  start(): void {
    if (this.stopped || this.timer) return;
    this.refresh();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  /** One refresh (see the module comment). */
  refresh(): FeedRefresh {
    if (this.stopped) return { added: 0, removed: 0 };
    const now = this.c.clock.now();
    for (const [key, until] of this.holdUntil) if (until <= now) this.holdUntil.delete(key);

    const contacts = this.source.allContacts();
    const inTable = new Set(contacts.map((c) => toHex(c.id)));
    let removed = 0;
    for (const [key, contact] of this.fed) {
      if (!this.sink.hasPeer(contact.id)) {
        // The driver dropped it after failed sends.
        this.fed.delete(key);
        this.holdUntil.set(key, now + this.retryAfterMs);
      } else if (!inTable.has(key)) {
        this.fed.delete(key);
        this.sink.removePeer(contact);
        removed++;
      }
    }

    let added = 0;
    if (this.sink.peerCount < this.maxPeers) {
      for (const contact of shuffle(contacts, this.c.rng)) {
        if (this.sink.peerCount >= this.maxPeers) break;
        const key = toHex(contact.id);
        if (this.fed.has(key) || this.holdUntil.has(key) || this.sink.hasPeer(contact.id)) continue;
        if (this.sink.addPeer(contact)) {
          this.fed.set(key, contact);
          added++;
        }
      }
    }
    if (added > 0 || removed > 0) {
      this.c.logger.debug('pubsub peers refreshed', { added, removed, peers: this.sink.peerCount });
    }
    return { added, removed };
  }

  private schedule(): void {
    this.timer = this.c.clock.setTimer(this.refreshIntervalMs, () => {
      if (this.stopped) return;
      this.refresh();
      this.schedule();
    });
  }
}
