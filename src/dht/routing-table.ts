/**
 * The Kademlia routing table: 256 k-buckets by XOR distance from our own id (spec: "256 buckets for
 * 256-bit XOR distance space", "LRU-like eviction preferring long-lived nodes", "ping-before-evict").
 *
 * Pure and synchronous: it never sends anything. When a full bucket meets a new contact,
 * `observeContact` parks the newcomer in the bucket's replacement cache and returns the LRU head
 * as a contact to ping; the driver pings it and reports back through `onPingResult`. A live head
 * moves to the tail (old, proven contacts stay); a dead one is evicted and the freshest
 * replacement takes its slot.
 *
 * k may change at run time (AdaptiveK): a smaller k never evicts good contacts (buckets simply
 * stop growing until they shrink through failures); a larger k promotes cached replacements.
 */
import type { Contact, NodeId } from '../core/types.js';
import { BUCKET_COUNT, K_DEFAULT, K_MAX, K_MIN } from '../constants.js';
import { ConfigError } from '../errors.js';
import { bitAt, bucketIndex, compareDistance, ID_LENGTH } from './distance.js';
import { KBucket, sameId } from './kbucket.js';

/** Candidates kept per bucket while it is full. */
export const REPLACEMENT_CACHE_SIZE = 10;
/** ms after which a bucket no lookup went through is refreshed with a random-id lookup (Kademlia: 1 h). */
export const BUCKET_REFRESH_INTERVAL_MS = 3_600_000;
/**
 * Consecutive failed requests after which a contact is evicted. One: the transport already waited
 * out its own deadline, a live contact is re-learned the next time it talks to us, and keeping dead
 * contacts costs every later lookup a timeout.
 */
export const FAILURES_BEFORE_EVICT = 1;
/**
 * A full bucket whose LRU head was heard from within this many ms is taken as alive without a
 * ping (the newcomer just waits in the replacement cache): every contact in it is at least that
 * fresh. Saves a ping per newcomer in busy networks; dead contacts are still caught by failed
 * requests, which promote a replacement.
 */
export const PING_FRESHNESS_MS = 30_000;

export interface RoutingTableOptions {
  /** Bucket capacity; default K_DEFAULT, must lie in K_MIN..K_MAX. */
  k?: number;
  replacementCacheSize?: number;
  refreshIntervalMs?: number;
  failuresBeforeEvict?: number;
  /** See PING_FRESHNESS_MS; 0 pings on every newcomer to a full bucket. */
  pingFreshnessMs?: number;
  /**
   * Proximity neighbour selection: true when a contact measured at `candidateRttMs` is clearly
   * faster (a faster latency tier) than a member measured at `memberRttMs`. When given, a full
   * bucket swaps its slowest measured member for such a newcomer (the member moves to the
   * replacement cache: it is alive, just far). Among equally fast contacts the old ones stay.
   */
  faster?: (candidateRttMs: number, memberRttMs: number) => boolean;
}

/** What `observeContact` did. */
export type ObserveOutcome =
  | { readonly kind: 'added' }
  | { readonly kind: 'updated' }
  | { readonly kind: 'ignored' }
  /** The bucket is full: the contact waits in the replacement cache. Ping `ping` when non-null. */
  | { readonly kind: 'pending'; readonly ping: Contact | null };

/** Scratch array for sorting one bucket at a time inside closest() (synchronous, never shared). */
const SCRATCH: Contact[] = [];

const ADDED: ObserveOutcome = { kind: 'added' };
const UPDATED: ObserveOutcome = { kind: 'updated' };
const IGNORED: ObserveOutcome = { kind: 'ignored' };
const PENDING_NO_PING: ObserveOutcome = { kind: 'pending', ping: null };

export class RoutingTable {
  readonly self: NodeId;
  private readonly buckets: (KBucket | undefined)[] = new Array<KBucket | undefined>(BUCKET_COUNT);
  /** When each bucket was last refreshed by a lookup (ms). */
  private readonly touched = new Float64Array(BUCKET_COUNT);
  private kValue: number;
  private readonly replacementCacheSize: number;
  private readonly refreshIntervalMs: number;
  private readonly failuresBeforeEvict: number;
  private readonly pingFreshnessMs: number;
  private readonly faster: ((candidateRttMs: number, memberRttMs: number) => boolean) | undefined;
  private count = 0;
  private evictionCount = 0;
  /** No bucket below this index has ever held a contact (a lower bound on lowestOccupied). */
  private low = BUCKET_COUNT;

  constructor(self: NodeId, now: number, options: RoutingTableOptions = {}) {
    if (self.length !== ID_LENGTH) throw new ConfigError(`node id must be ${ID_LENGTH} bytes, got ${self.length}`);
    this.self = self;
    this.kValue = checkK(options.k ?? K_DEFAULT);
    this.replacementCacheSize = options.replacementCacheSize ?? REPLACEMENT_CACHE_SIZE;
    this.refreshIntervalMs = options.refreshIntervalMs ?? BUCKET_REFRESH_INTERVAL_MS;
    this.failuresBeforeEvict = Math.max(1, options.failuresBeforeEvict ?? FAILURES_BEFORE_EVICT);
    this.pingFreshnessMs = Math.max(0, options.pingFreshnessMs ?? PING_FRESHNESS_MS);
    this.faster = options.faster;
    this.touched.fill(now);
  }

  get k(): number {
    return this.kValue;
  }

  /** Number of contacts in the table. */
  get size(): number {
    return this.count;
  }

  /** Contacts evicted so far because they failed (the churn signal AdaptiveK reads). */
  get evictions(): number {
    return this.evictionCount;
  }

  /** Change the bucket capacity (AdaptiveK). Growing promotes cached replacements at once. */
  setK(k: number, now = 0): void {
    this.kValue = checkK(k);
    for (const b of this.buckets) {
      if (!b) continue;
      while (b.size < this.kValue && b.replacements.length > 0) {
        const c = b.takeReplacement()!;
        b.append(c, now, NaN);
        this.count++;
      }
    }
  }

  /**
   * We heard from `contact` (it answered us or sent us a verified request). Known contacts move to
   * the tail; new ones fill a free slot; a full bucket caches the newcomer and asks for a ping of
   * its head (at most one ping in flight per bucket, none while the head is fresher than
   * pingFreshnessMs).
   */
  observeContact(contact: Contact, now: number, rttMs?: number): ObserveOutcome {
    const i = bucketIndex(this.self, contact.id);
    if (i < 0 || contact.id.length !== ID_LENGTH) return IGNORED;
    const rtt = rttMs ?? NaN;
    let b = this.buckets[i];
    if (!b) {
      b = this.buckets[i] = new KBucket();
      if (i < this.low) this.low = i;
    }
    const at = b.indexOf(contact.id);
    if (at >= 0) {
      if (b.pinging && at === b.indexOf(b.pinging.id)) b.pinging = null; // heard from: as good as a pong
      b.touch(at, contact, now, rtt);
      return UPDATED;
    }
    if (b.size < this.kValue) {
      const r = b.replacementIndexOf(contact.id);
      if (r >= 0) b.replacements.splice(r, 1);
      b.append(contact, now, rtt);
      this.count++;
      return ADDED;
    }
    if (b.lastSeen[0] === -Infinity) {
      // The head was only heard of (offerContact), never from: a contact that did talk to us is
      // worth more, and pinging the unverified one would cost a round trip to learn as much.
      b.removeAt(0);
      if (b.pinging && !b.contacts.includes(b.pinging)) b.pinging = null;
      const r = b.replacementIndexOf(contact.id);
      if (r >= 0) b.replacements.splice(r, 1);
      b.append(contact, now, rtt);
      return ADDED;
    }
    if (this.faster && !Number.isNaN(rtt) && this.swapSlowest(b, contact, now, rtt)) return ADDED;
    b.addReplacement(contact, this.replacementCacheSize);
    if (b.pinging || now - b.lastSeen[0]! < this.pingFreshnessMs) return PENDING_NO_PING;
    b.pinging = b.contacts[0]!;
    return { kind: 'pending', ping: b.pinging };
  }

  /**
   * We heard *of* `contact` (another node listed it in a reply) but not from it. It only takes a
   * free slot, at the head of the bucket as never seen: the next contact we hear *from* while the
   * bucket is full takes its place without a ping. Known contacts and full buckets are left alone.
   * Returns true when added.
   */
  offerContact(contact: Contact): boolean {
    const i = bucketIndex(this.self, contact.id);
    if (i < 0 || contact.id.length !== ID_LENGTH) return false;
    let b = this.buckets[i];
    if (b && b.size >= this.kValue) return false;
    if (!b) {
      b = this.buckets[i] = new KBucket();
      if (i < this.low) this.low = i;
    }
    if (b.indexOf(contact.id) >= 0) return false;
    b.prepend(contact);
    this.count++;
    return true;
  }

  /** Outcome of a ping asked for by `observeContact`. */
  onPingResult(id: NodeId, alive: boolean, now: number): void {
    const b = this.bucketOf(id);
    if (!b) return;
    if (b.pinging && sameId(b.pinging.id, id)) b.pinging = null;
    const at = b.indexOf(id);
    if (at < 0) return;
    if (alive) b.touch(at, b.contacts[at]!, now, NaN);
    else this.evict(b, at, now);
  }

  /**
   * A request to `id` failed (timeout, refused, identity mismatch). After `failuresBeforeEvict`
   * consecutive failures the contact is evicted and replaced. Returns true when evicted.
   */
  markFailed(id: NodeId, now = 0): boolean {
    const b = this.bucketOf(id);
    if (!b) return false;
    const r = b.replacementIndexOf(id);
    if (r >= 0) b.replacements.splice(r, 1);
    const at = b.indexOf(id);
    if (at < 0) return false;
    b.failures[at] = b.failures[at]! + 1;
    if (b.failures[at]! < this.failuresBeforeEvict) return false;
    if (b.pinging && at === b.indexOf(b.pinging.id)) b.pinging = null;
    this.evict(b, at, now);
    return true;
  }

  has(id: NodeId): boolean {
    const b = this.bucketOf(id);
    return b !== undefined && b.indexOf(id) >= 0;
  }

  get(id: NodeId): Contact | undefined {
    const b = this.bucketOf(id);
    const at = b ? b.indexOf(id) : -1;
    return at >= 0 ? b!.contacts[at] : undefined;
  }

  /** Last RTT recorded for `id` (ms), undefined when unknown or not in the table. */
  rttOf(id: NodeId): number | undefined {
    const b = this.bucketOf(id);
    const at = b ? b.indexOf(id) : -1;
    if (at < 0) return undefined;
    const v = b!.rtt[at]!;
    return Number.isNaN(v) ? undefined : v;
  }

  /** Contacts of bucket `i`, least recently seen first (a copy). */
  bucketContacts(i: number): Contact[] {
    return this.buckets[i]?.contacts.slice() ?? [];
  }

  /** Replacement cache of bucket `i` (a copy, most recent last). */
  bucketReplacements(i: number): Contact[] {
    return this.buckets[i]?.replacements.slice() ?? [];
  }

  /** Every contact in the table (a fresh array). */
  allContacts(): Contact[] {
    const out: Contact[] = [];
    for (const b of this.buckets) if (b) for (const c of b.contacts) out.push(c);
    return out;
  }

  /**
   * The `n` known contacts closest to `target`, closest first, leaving out `exclude` if given.
   * Walks whole buckets in distance order instead of sorting the table. With D = self ^ target and
   * b = bucketIndex(self, target): bucket b's contacts are all within 2^b of the target; a bucket
   * j < b holds contacts whose distance to the target matches D above bit j and has bit j flipped,
   * so buckets j < b with bit j of D set come next (highest j first), then those with it clear
   * (lowest j first); then buckets j > b in increasing order, each within [2^j, 2^(j+1)). Only one
   * bucket (at most k contacts) is sorted at a time.
   */
  closest(target: NodeId, n: number, exclude?: NodeId): Contact[] {
    const out: Contact[] = [];
    if (n <= 0 || this.count === 0) return out;
    const self = this.self;
    const b = bucketIndex(self, target);
    const cmp = (x: Contact, y: Contact): number => compareDistance(target, x.id, y.id);
    if (b >= 0) {
      if (this.emit(out, b, cmp, n, exclude)) return out;
      const low = this.low; // buckets below it are empty
      for (let j = b - 1; j >= low; j--) {
        if (this.buckets[j]?.size && (bitAt(self, j) ^ bitAt(target, j)) === 1 && this.emit(out, j, cmp, n, exclude)) return out;
      }
      for (let j = low; j < b; j++) {
        if (this.buckets[j]?.size && (bitAt(self, j) ^ bitAt(target, j)) === 0 && this.emit(out, j, cmp, n, exclude)) return out;
      }
    }
    for (let j = b + 1; j < BUCKET_COUNT; j++) {
      if (this.emit(out, j, cmp, n, exclude)) return out;
    }
    return out;
  }

  /** Append bucket j's contacts sorted by distance; true once `out` holds n. */
  private emit(out: Contact[], j: number, cmp: (x: Contact, y: Contact) => number, n: number, exclude: NodeId | undefined): boolean {
    const bucket = this.buckets[j];
    if (!bucket || bucket.size === 0) return false;
    // Sort a reused scratch copy (the bucket itself must keep its LRU order).
    const band = SCRATCH;
    const cs = bucket.contacts;
    for (let i = 0; i < cs.length; i++) band[i] = cs[i]!;
    band.length = cs.length;
    if (band.length > 1) band.sort(cmp);
    let full = false;
    for (let i = 0; i < band.length; i++) {
      const c = band[i]!;
      if (exclude !== undefined && sameId(c.id, exclude)) continue;
      out.push(c);
      if (out.length >= n) {
        full = true;
        break;
      }
    }
    band.length = 0; // hold no references between calls
    return full;
  }

  /** Record that a lookup for `target` just ran, refreshing the bucket it falls into. */
  touchBucketFor(target: NodeId, now: number): void {
    const i = bucketIndex(this.self, target);
    if (i >= 0) this.touched[i] = now;
  }

  /**
   * Buckets due for a refresh lookup: every index from our nearest occupied bucket up to 255 that
   * no lookup touched within the refresh interval (empty buckets below our closest neighbour are
   * skipped: that region of the id space holds nobody else).
   */
  bucketsNeedingRefresh(now: number): number[] {
    const out: number[] = [];
    const low = this.lowestOccupied();
    if (low < 0) return out;
    for (let i = low; i < BUCKET_COUNT; i++) {
      if (now - this.touched[i]! >= this.refreshIntervalMs) out.push(i);
    }
    return out;
  }

  /** Index of the lowest non-empty bucket (our closest neighbours), -1 when the table is empty. */
  lowestOccupied(): number {
    for (let i = this.low; i < BUCKET_COUNT; i++) if ((this.buckets[i]?.size ?? 0) > 0) return i;
    return -1;
  }

  /** Sizes of all 256 buckets (for telemetry and tests). */
  bucketSizes(): number[] {
    const out = new Array<number>(BUCKET_COUNT);
    for (let i = 0; i < BUCKET_COUNT; i++) out[i] = this.buckets[i]?.size ?? 0;
    return out;
  }

  private bucketOf(id: NodeId): KBucket | undefined {
    const i = bucketIndex(this.self, id);
    return i < 0 ? undefined : this.buckets[i];
  }

  /** PNS: replace the slowest measured member of full bucket `b` by `contact` if clearly faster. */
  private swapSlowest(b: KBucket, contact: Contact, now: number, rtt: number): boolean {
    let slow = -1;
    for (let j = 0; j < b.size; j++) {
      const r = b.rtt[j]!;
      if (!Number.isNaN(r) && (slow < 0 || r > b.rtt[slow]!)) slow = j;
    }
    if (slow < 0 || !this.faster!(rtt, b.rtt[slow]!)) return false;
    const old = b.removeAt(slow);
    if (b.pinging && sameId(b.pinging.id, old.id)) b.pinging = null;
    const r = b.replacementIndexOf(contact.id);
    if (r >= 0) b.replacements.splice(r, 1);
    b.append(contact, now, rtt);
    // Alive, only slower: first in line for a slot freed by a failure (it was the most recently heard).
    b.addReplacement(old, this.replacementCacheSize);
    return true;
  }

  private evict(b: KBucket, at: number, now: number): void {
    b.removeAt(at);
    this.count--;
    this.evictionCount++;
    const next = b.takeReplacement();
    if (next) {
      // Replacements were alive when cached; they join as most recently seen.
      b.append(next, now, NaN);
      this.count++;
    }
  }
}

function checkK(k: number): number {
  if (!Number.isInteger(k) || k < K_MIN || k > K_MAX) {
    throw new ConfigError(`k must be an integer in ${K_MIN}..${K_MAX}, got ${k}`);
  }
  return k;
}
