/**
 * The DHT's local key/value store, hardened against storage exhaustion. Pure and clock-injected:
 * it never schedules anything; the DHT calls sweepExpired() every expirationCheckIntervalMs.
 *
 * A store is checked in this order (cheap checks first, so a flood costs little CPU):
 *   1. RateLimited   — the peer has used its token bucket: perPeerBurst stores at once, then
 *                      perPeerRatePerMinute a minute. Only accepted stores take a token: a refused
 *                      attempt does not extend the refusal (an honest writer retrying is served at
 *                      the limit's pace; a flooder still gets no more than that pace);
 *   2. ValueTooLarge — value longer than maxValueSize;
 *   3. InvalidKey    — key not 32 bytes, or (verifyContent) key != BLAKE3(value);
 *   4. QuotaExceeded — the peer would hold more than perPeerQuotaBytes or perPeerEntryLimit;
 *   5. Pressure      — the store is at its hard limit and nothing may be evicted for it (below).
 *
 * Ownership: an entry is charged to the peer that first stored it. The same peer re-storing the key
 * replaces the value (quota adjusted) and refreshes the TTL. Another peer storing byte-identical
 * data (a Kademlia republish) only refreshes the TTL and is charged nothing — so nobody can "adopt"
 * an honest peer's entries into an account that is about to be evicted. Another peer storing a
 * different value (a newer signed record; the DHT validated it) takes the entry over: it is charged
 * to the new storer and credited back to the old one.
 *
 * Eviction policy (why honest data survives an abuser or a Sybil swarm):
 *   - A peer's share is its dominant resource share, max(bytes / maxBytes, entries / maxEntries).
 *   - When a store would leave storage pressure (max of the same two ratios) above
 *     pressureThreshold, entries are evicted from the peer with the LARGEST share, and only while
 *     that share exceeds what the storer itself will hold after the store. A peer never evicts its
 *     own data and never takes room from someone holding less than it will. If nobody qualifies, the
 *     store is still accepted while it fits under the hard limits (maxEntries, maxBytes), else it
 *     is refused with 'Pressure' (the DHT then spills it to another node).
 *   - Within the victim peer, the least recently used entry goes first, but an entry that was read
 *     gets a second chance: its read count is halved and it moves to the recent end, so frequently
 *     read data survives several rounds (amortised O(1): each pass pays for earlier reads).
 *   Guarantee (proved in test/unit/storage-fairness.test.ts): with M peers holding data, a peer whose
 *   share σ satisfies M·σ + δ ≤ pressureThreshold, δ = max(maxValueSize/maxBytes, 1/maxEntries), is
 *   never evicted, whatever the other M−1 peers do. Proof: eviction of H happens only while H has a
 *   maximal share and pressure + δ > threshold; but pressure ≤ Σ shares ≤ M·σ_H. Per-peer quotas
 *   bound each identity, so displacing an honest peer requires holding ~threshold/σ_H identities.
 *
 * Pressure = max(bytes/maxBytes, entries/maxEntries, request rate/maxRequestsPerSecond). Eviction
 * only looks at the storage terms (evicting cannot lower the request rate); the rate term tells the
 * DHT to spill new stores to slower tiers.
 */
import type { Clock } from '../core/clock.js';
import { bytesEqual, toHex } from '../core/bytes.js';
import type { Key, NodeId } from '../core/types.js';
import { ID_BYTES } from '../core/types.js';
import { verifyKeyValuePair } from '../identity/node-id.js';
import type { StoreRejection } from '../wire/messages.js';
import { IndexedMaxHeap, type HeapItem } from './indexed-heap.js';
import { resolveStorageLimits, PEER_RATE_WINDOW_MS, type StorageLimits } from './limits.js';
import { LruMap } from './lru.js';
import { RequestRateMeter, StoreRateBucket } from './rate.js';

export type { StorageLimits } from './limits.js';

/** How a ProtectedStore.put is checked and charged. */
export interface PutOptions {
  /** Content-addressed store: require key == BLAKE3(value). */
  verifyContent: boolean;
  /** The node's own data: exempt from the per-peer rate limit and quota (eviction still applies). */
  trusted?: boolean;
}

/** What one remote peer holds in a ProtectedStore. */
export interface PeerUsage {
  bytes: number;
  entries: number;
  /** Dominant share: max(bytes / maxBytes, entries / maxEntries). */
  share: number;
}

/** Counters and sizes of a ProtectedStore. */
export interface StorageStats {
  entries: number;
  bytes: number;
  pressure: number;
  /** Peers currently holding at least one entry. */
  perPeer: number;
  rejections: Record<StoreRejection, number>;
  evictions: number;
  expired: number;
}

/** One entry of a ProtectedStore. */
export interface StoredEntry {
  key: Key;
  value: Uint8Array;
  /** Hex NodeId of the peer the entry is charged to. */
  owner: string;
  storedAt: number;
  expiresAt: number;
}

interface Entry {
  keyHex: string;
  key: Key;
  value: Uint8Array;
  owner: PeerState;
  storedAt: number;
  expiresAt: number;
  /** Reads since the entry last got a second chance. */
  hits: number;
}

interface PeerState extends HeapItem {
  id: string;
  bytes: number;
  entries: number;
  /** This peer's entries, least recently used first. */
  lru: LruMap<string, Entry>;
  attempts: StoreRateBucket;
}

/** Request-rate pressure is measured over this window. */
const REQUEST_RATE_WINDOW_MS = 10_000;
const MAX_HITS = 1 << 30;

/** The DHT's local store: LRU with TTL, per-peer quotas and rate limits, and fair eviction under pressure. */
export class ProtectedStore {
  readonly limits: StorageLimits;
  /** Every entry, ordered by last (re)store; since the TTL is constant this is expiry order. */
  private readonly index = new LruMap<string, Entry>();
  private readonly peers = new Map<string, PeerState>();
  /** Peers holding data, largest share on top. */
  private readonly holders: IndexedMaxHeap<PeerState>;
  private readonly requests = new RequestRateMeter(REQUEST_RATE_WINDOW_MS);
  private totalBytes = 0;
  private evictions = 0;
  private expired = 0;
  private readonly rejections: Record<StoreRejection, number> = {
    ValueTooLarge: 0,
    QuotaExceeded: 0,
    RateLimited: 0,
    InvalidKey: 0,
    Pressure: 0,
  };
  private readonly invMaxBytes: number;
  private readonly invMaxEntries: number;

  constructor(
    options: Partial<StorageLimits> | undefined,
    private readonly clock: Clock,
  ) {
    this.limits = resolveStorageLimits(options);
    this.invMaxBytes = 1 / this.limits.maxBytes;
    this.invMaxEntries = 1 / this.limits.maxEntries;
    this.holders = new IndexedMaxHeap<PeerState>(
      (a, b) => this.shareOf(a.bytes, a.entries) > this.shareOf(b.bytes, b.entries),
    );
  }

  /** Entries held, including expired ones not yet swept (they are invisible to get/has). */
  get size(): number {
    return this.index.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Store `value` under `key` on behalf of `from`; null when accepted, else the reason. */
  put(from: NodeId | string, key: Key, value: Uint8Array, opts: PutOptions): StoreRejection | null {
    const now = this.clock.now();
    const L = this.limits;
    this.requests.record(now);
    const peer = this.peerState(typeof from === 'string' ? from : toHex(from));
    if (!opts.trusted && !peer.attempts.tryAcquire(now)) return this.reject('RateLimited');
    if (value.length > L.maxValueSize) return this.reject('ValueTooLarge');
    if (key.length !== ID_BYTES) return this.reject('InvalidKey');
    if (opts.verifyContent && !verifyKeyValuePair(key, value)) return this.reject('InvalidKey');

    const keyHex = toHex(key);
    let existing = this.index.peek(keyHex);
    if (existing && existing.expiresAt <= now) {
      this.remove(existing);
      this.expired++;
      existing = undefined;
    }
    if (existing && existing.owner !== peer && bytesEqual(existing.value, value)) {
      // A republish of identical data: keep it alive, charge nobody.
      this.refresh(existing, now);
      return null;
    }

    const same = existing?.owner === peer ? existing : undefined;
    const addBytes = value.length - (same ? same.value.length : 0);
    const addEntries = same ? 0 : 1;
    if (
      !opts.trusted &&
      (peer.bytes + addBytes > L.perPeerQuotaBytes || peer.entries + addEntries > L.perPeerEntryLimit)
    ) {
      return this.reject('QuotaExceeded');
    }
    // Taking over another peer's entry frees its space in the same step.
    const taken = existing && !same ? existing : undefined;
    const netBytes = addBytes - (taken ? taken.value.length : 0);
    const netEntries = addEntries - (taken ? 1 : 0);
    if (!this.makeRoom(peer, addBytes, addEntries, netBytes, netEntries)) {
      this.dropIfIdle(peer, now);
      return this.reject('Pressure');
    }
    // makeRoom may already have evicted the entry being taken over.
    if (taken && this.index.peek(keyHex) === taken) this.remove(taken);

    const stored = value.slice(); // never retain a view into a larger receive buffer
    if (same) {
      same.value = stored;
      peer.bytes += addBytes;
      this.totalBytes += addBytes;
      same.storedAt = now;
      this.refresh(same, now);
      peer.lru.touch(keyHex);
      this.holders.upsert(peer);
      return null;
    }
    const entry: Entry = {
      keyHex,
      key: key.slice(),
      value: stored,
      owner: peer,
      storedAt: now,
      expiresAt: now + L.ttlMs,
      hits: 0,
    };
    this.index.set(keyHex, entry);
    peer.lru.set(keyHex, entry);
    peer.bytes += stored.length;
    peer.entries++;
    this.totalBytes += stored.length;
    this.holders.upsert(peer);
    return null;
  }

  /** The live value for `key`; counts a read (popularity) and refreshes its recency. */
  get(key: Key): Uint8Array | undefined {
    const now = this.clock.now();
    this.requests.record(now);
    const entry = this.live(key, now);
    if (!entry) return undefined;
    if (entry.hits < MAX_HITS) entry.hits++;
    entry.owner.lru.touch(entry.keyHex);
    return entry.value;
  }

  /** True when a live value is held for `key` (no popularity, no rate accounting). */
  has(key: Key): boolean {
    return this.live(key, this.clock.now()) !== undefined;
  }

  delete(key: Key): boolean {
    const entry = this.index.peek(toHex(key));
    if (!entry) return false;
    this.remove(entry);
    return true;
  }

  /** Storage pressure only: max(bytes / maxBytes, entries / maxEntries). */
  storagePressure(): number {
    return Math.min(1, Math.max(this.totalBytes * this.invMaxBytes, this.index.size * this.invMaxEntries));
  }

  /** Requests (put + get) per second over about the last ten seconds. */
  requestRate(): number {
    return this.requests.perSecond(this.clock.now());
  }

  /** 0..1: the largest of memory, entry count and request-rate utilisation. */
  pressure(): number {
    return Math.min(
      1,
      Math.max(this.storagePressure(), this.requestRate() / this.limits.maxRequestsPerSecond),
    );
  }

  /**
   * Remove expired entries (and forget idle peers); returns the number of entries removed.
   * Entries sit in expiry order, so this costs O(removed) plus one pass over known peers.
   */
  sweepExpired(): number {
    const now = this.clock.now();
    const removed = this.removeExpired(now);
    for (const peer of this.peers.values()) this.dropIfIdle(peer, now);
    return removed;
  }

  stats(): StorageStats {
    return {
      entries: this.index.size,
      bytes: this.totalBytes,
      pressure: this.pressure(),
      perPeer: this.holders.size,
      rejections: { ...this.rejections },
      evictions: this.evictions,
      expired: this.expired,
    };
  }

  peerUsage(id: NodeId | string): PeerUsage {
    const peer = this.peers.get(typeof id === 'string' ? id : toHex(id));
    const bytes = peer?.bytes ?? 0;
    const entries = peer?.entries ?? 0;
    return { bytes, entries, share: this.shareOf(bytes, entries) };
  }

  /** Live entries in expiry order (e.g. for republishing). Do not mutate the store while iterating. */
  *entries(): IterableIterator<StoredEntry> {
    const now = this.clock.now();
    for (const e of this.index.values()) {
      if (e.expiresAt <= now) continue;
      yield { key: e.key, value: e.value, owner: e.owner.id, storedAt: e.storedAt, expiresAt: e.expiresAt };
    }
  }

  // --- internals -----------------------------------------------------------------------------

  private shareOf(bytes: number, entries: number): number {
    return Math.max(bytes * this.invMaxBytes, entries * this.invMaxEntries);
  }

  private reject(reason: StoreRejection): StoreRejection {
    this.rejections[reason]++;
    return reason;
  }

  private peerState(id: string): PeerState {
    let peer = this.peers.get(id);
    if (!peer) {
      peer = {
        id,
        bytes: 0,
        entries: 0,
        lru: new LruMap(),
        attempts: new StoreRateBucket(this.limits.perPeerRatePerMinute, PEER_RATE_WINDOW_MS, this.limits.perPeerBurst),
        heapIndex: -1,
      };
      this.peers.set(id, peer);
    }
    return peer;
  }

  /** Forget a peer that holds nothing and whose token bucket is full again (bounds the peer map). */
  private dropIfIdle(peer: PeerState, now: number): void {
    if (peer.entries === 0 && peer.attempts.idle(now)) this.peers.delete(peer.id);
  }

  private live(key: Key, now: number): Entry | undefined {
    const keyHex = toHex(key);
    const entry = this.index.peek(keyHex);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.remove(entry);
      this.expired++;
      return undefined;
    }
    return entry;
  }

  private removeExpired(now: number): number {
    let removed = 0;
    for (;;) {
      const oldest = this.index.oldestValue();
      if (!oldest || oldest.expiresAt > now) break;
      this.remove(oldest);
      removed++;
    }
    this.expired += removed;
    return removed;
  }

  private refresh(entry: Entry, now: number): void {
    entry.expiresAt = now + this.limits.ttlMs;
    this.index.set(entry.keyHex, entry); // move to the end: expiry order
  }

  private remove(entry: Entry): void {
    const peer = entry.owner;
    this.index.delete(entry.keyHex);
    peer.lru.delete(entry.keyHex);
    peer.bytes -= entry.value.length;
    peer.entries--;
    this.totalBytes -= entry.value.length;
    if (peer.entries === 0) this.holders.remove(peer);
    else this.holders.upsert(peer);
  }

  /**
   * Make room for a store by `peer` that adds (addBytes, addEntries) to the peer's account and
   * (netBytes, netEntries) to the store. Returns false when the store cannot fit (→ 'Pressure').
   */
  private makeRoom(
    peer: PeerState,
    addBytes: number,
    addEntries: number,
    netBytes: number,
    netEntries: number,
  ): boolean {
    const L = this.limits;
    const targetBytes = L.pressureThreshold * L.maxBytes;
    const targetEntries = L.pressureThreshold * L.maxEntries;
    const over = (): boolean =>
      this.totalBytes + netBytes > targetBytes || this.index.size + netEntries > targetEntries;
    if (!over()) return true;
    // Expired entries go before live ones (no peer cleanup here: the storer may be idle-looking).
    if (this.removeExpired(this.clock.now()) > 0 && !over()) return true;
    const storerShare = this.shareOf(peer.bytes + addBytes, peer.entries + addEntries);
    while (over()) {
      const victim = this.holders.peek();
      if (!victim || victim === peer || this.shareOf(victim.bytes, victim.entries) <= storerShare) break;
      this.evictOne(victim);
    }
    return this.totalBytes + netBytes <= L.maxBytes && this.index.size + netEntries <= L.maxEntries;
  }

  /** Evict one entry of `peer`: least recently used, with a second chance for entries that were read. */
  private evictOne(peer: PeerState): void {
    const lru = peer.lru;
    for (let budget = lru.size; budget > 0; budget--) {
      const candidate = lru.oldestValue()!;
      if (candidate.hits === 0) break;
      candidate.hits >>>= 1;
      lru.touch(candidate.keyHex);
    }
    this.remove(lru.oldestValue()!);
    this.evictions++;
  }
}
