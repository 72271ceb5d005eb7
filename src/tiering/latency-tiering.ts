/**
 * Latency tiers for DHT contacts: each contact's RTT is smoothed (median of its last few samples,
 * robust to one-off spikes such as a GC pause), and every recomputeIntervalMs the smoothed RTTs are
 * clustered with 1-D k-means on ln(1 + rtt) into 1..7 tiers (tier 0 = fastest). Lookups prefer fast
 * tiers; stores spill to slow tiers under pressure (slowerTiersFirst).
 *
 * Built for the simulator, where each of 10,000 nodes has its own tiering: per-contact state lives
 * in growable typed arrays indexed by a slot (struct of arrays, slots reused after dropStale), so
 * recordRtt allocates nothing beyond the map key; recompute is O(n log n) once per interval; tierOf
 * is a scan of at most 6 boundaries against the contact's current smoothed RTT.
 */
import {
  MAX_LATENCY_TIERS,
  MIN_LATENCY_TIERS,
  TIERING_RECOMPUTE_INTERVAL_MS,
  TIERING_STALE_THRESHOLD_MS,
} from '../constants.js';
import { toHex } from '../core/bytes.js';
import type { Clock } from '../core/clock.js';
import type { Rng } from '../core/rng.js';
import type { NodeId } from '../core/types.js';
import { ConfigError } from '../errors.js';
import { positiveNumber } from '../core/checks.js';
import { chooseTierCountSorted, kmeansSorted, rttFeature, rttFromFeature } from './kmeans.js';

/** LatencyTiering options: recompute interval, staleness, samples and tier bounds. */
export interface LatencyTieringOptions {
  /** ms between k-means recomputations (maybeRecompute). Default TIERING_RECOMPUTE_INTERVAL_MS. */
  recomputeIntervalMs?: number;
  /** ms without a sample after which a contact is dropped. Default TIERING_STALE_THRESHOLD_MS. */
  staleThresholdMs?: number;
  /** RTT samples kept per contact; the smoothed RTT is their median. Default 5. */
  maxSamplesPerContact?: number;
  minTiers?: number;
  maxTiers?: number;
}

/** The current tiers: centres and contact counts. */
export interface TieringSnapshot {
  /** Tier centres in ms, ascending (tier 0 first). Empty before the first recompute. */
  centroids: number[];
  /** Contacts currently in each tier. */
  counts: number[];
}

/** A contact id as bytes, or its lowercase hex (cheaper when the caller already has it). */
export type ContactKey = NodeId | string;

const DEFAULT_SAMPLES = 5;
const MAX_SAMPLES = 64;
const INITIAL_CAPACITY = 16;

/** Groups contacts into latency tiers by 1-D k-means over their RTTs, the tier count chosen by silhouette. */
export class LatencyTiering {
  readonly recomputeIntervalMs: number;
  readonly staleThresholdMs: number;
  readonly maxSamplesPerContact: number;
  private readonly minTiers: number;
  private readonly maxTiers: number;

  private readonly slots = new Map<string, number>();
  private free: number[] = [];
  private capacity = 0;
  /** Per slot: the last samples (ring), count of samples seen, smoothed RTT and its feature, last seen. */
  private samples = new Float32Array(0);
  private sampleCount = new Uint32Array(0);
  private smoothedMs = new Float64Array(0);
  private feature = new Float64Array(0);
  private lastSeen = new Float64Array(0);
  private readonly scratch: Float64Array;
  private featureBuffer = new Float64Array(0);

  /** Current model: centroids in ms and the midpoints between centroids in feature units. */
  private centroidMs: number[] = [];
  private boundaries = new Float64Array(0);
  private lastRecomputeAt = -Infinity;

  constructor(
    options: LatencyTieringOptions | undefined,
    private readonly clock: Clock,
    private readonly rng: Rng,
  ) {
    const o = options ?? {};
    this.recomputeIntervalMs = positive(
      'recomputeIntervalMs',
      o.recomputeIntervalMs ?? TIERING_RECOMPUTE_INTERVAL_MS,
    );
    this.staleThresholdMs = positive('staleThresholdMs', o.staleThresholdMs ?? TIERING_STALE_THRESHOLD_MS);
    this.maxSamplesPerContact = o.maxSamplesPerContact ?? DEFAULT_SAMPLES;
    if (
      !Number.isInteger(this.maxSamplesPerContact) ||
      this.maxSamplesPerContact < 1 ||
      this.maxSamplesPerContact > MAX_SAMPLES
    ) {
      throw new ConfigError(
        `tiering: maxSamplesPerContact must be an integer in 1..${MAX_SAMPLES}, got ${o.maxSamplesPerContact}`,
      );
    }
    this.minTiers = o.minTiers ?? MIN_LATENCY_TIERS;
    this.maxTiers = o.maxTiers ?? MAX_LATENCY_TIERS;
    if (
      !Number.isInteger(this.minTiers) ||
      !Number.isInteger(this.maxTiers) ||
      this.minTiers < 1 ||
      this.maxTiers < this.minTiers ||
      this.maxTiers > 32
    ) {
      throw new ConfigError(
        `tiering: need integers 1 <= minTiers <= maxTiers <= 32, got ${this.minTiers}..${this.maxTiers}`,
      );
    }
    this.scratch = new Float64Array(this.maxSamplesPerContact);
    this.grow(INITIAL_CAPACITY);
  }

  /** Contacts tracked. */
  get size(): number {
    return this.slots.size;
  }

  /** Tiers in the current model (0 before the first recompute or when no contact was known). */
  get tierCount(): number {
    return this.centroidMs.length;
  }

  /** Centre (ms) of the fastest tier, undefined before the first recompute. */
  get fastestTierMs(): number | undefined {
    return this.centroidMs[0];
  }

  /** Record one RTT sample (ms) for a contact. */
  recordRtt(id: ContactKey, rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0)
      throw new RangeError(`tiering: rttMs must be a finite number >= 0, got ${rttMs}`);
    const key = typeof id === 'string' ? id : toHex(id);
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = this.allocate(key);
      this.sampleCount[slot] = 0;
    }
    const n = this.maxSamplesPerContact;
    const seen = this.sampleCount[slot]!;
    this.samples[slot * n + (seen % n)] = rttMs;
    this.sampleCount[slot] = seen + 1;
    const m = Math.min(seen + 1, n);
    const median = this.median(slot * n, m);
    this.smoothedMs[slot] = median;
    this.feature[slot] = rttFeature(median);
    this.lastSeen[slot] = this.clock.now();
  }

  has(id: ContactKey): boolean {
    return this.slots.has(typeof id === 'string' ? id : toHex(id));
  }

  /** Smoothed RTT (ms) of a contact, or undefined when unknown. */
  rttOf(id: ContactKey): number | undefined {
    const slot = this.slots.get(typeof id === 'string' ? id : toHex(id));
    return slot === undefined ? undefined : this.smoothedMs[slot];
  }

  /**
   * Tier of a contact (0 = fastest): the nearest current centroid to its current smoothed RTT.
   * Undefined for unknown contacts; 0 for known ones before the first recompute.
   */
  tierOf(id: ContactKey): number | undefined {
    const slot = this.slots.get(typeof id === 'string' ? id : toHex(id));
    if (slot === undefined) return undefined;
    return this.tierOfFeature(this.feature[slot]!);
  }

  /**
   * Tier an RTT of `rttMs` would fall into under the current model (0 = fastest); undefined before
   * the first recompute. Lets callers compare candidates they have measured once but not tracked.
   */
  tierOfRtt(rttMs: number): number | undefined {
    if (this.centroidMs.length === 0 || !(rttMs >= 0)) return undefined;
    return this.tierOfFeature(rttFeature(rttMs));
  }

  /** Forget a contact (e.g. it left the routing table); true when it was known. */
  forget(id: ContactKey): boolean {
    const key = typeof id === 'string' ? id : toHex(id);
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    this.release(key, slot);
    return true;
  }

  /** Drop contacts without a sample for more than staleThresholdMs; returns how many. */
  dropStale(): number {
    const cutoff = this.clock.now() - this.staleThresholdMs;
    let removed = 0;
    for (const [key, slot] of this.slots) {
      if (this.lastSeen[slot]! < cutoff) {
        this.release(key, slot);
        removed++;
      }
    }
    return removed;
  }

  /** Recompute the tiers now (dropping stale contacts first). */
  recompute(): void {
    this.dropStale();
    this.lastRecomputeAt = this.clock.now();
    const n = this.slots.size;
    if (n === 0) {
      this.setModel(new Float64Array(0));
      return;
    }
    if (this.featureBuffer.length < n)
      this.featureBuffer = new Float64Array(Math.max(n, this.featureBuffer.length * 2));
    const features = this.featureBuffer.subarray(0, n);
    let i = 0;
    for (const slot of this.slots.values()) features[i++] = this.feature[slot]!;
    features.sort();
    const k = chooseTierCountSorted(features, this.minTiers, this.maxTiers, { rng: this.rng });
    this.setModel(kmeansSorted(features, k, { rng: this.rng }).centroids);
  }

  /** Recompute when recomputeIntervalMs has passed since the last one (or there was none). */
  maybeRecompute(): boolean {
    if (this.clock.now() - this.lastRecomputeAt < this.recomputeIntervalMs) return false;
    this.recompute();
    return true;
  }

  /** Tier centroids (ms) and the number of contacts now in each tier. */
  snapshot(): TieringSnapshot {
    const counts = new Array<number>(this.centroidMs.length).fill(0);
    if (counts.length > 0)
      for (const slot of this.slots.values()) counts[this.tierOfFeature(this.feature[slot]!)]!++;
    return { centroids: [...this.centroidMs], counts };
  }

  // --- internals -----------------------------------------------------------------------------

  private tierOfFeature(f: number): number {
    const b = this.boundaries;
    let tier = 0;
    while (tier < b.length && f > b[tier]!) tier++;
    return tier;
  }

  private setModel(centroids: Float64Array): void {
    this.centroidMs = Array.from(centroids, rttFromFeature);
    this.boundaries = new Float64Array(Math.max(0, centroids.length - 1));
    for (let j = 1; j < centroids.length; j++)
      this.boundaries[j - 1] = (centroids[j - 1]! + centroids[j]!) / 2;
  }

  /** Median of `m` samples starting at `offset`, via insertion sort into the scratch buffer. */
  private median(offset: number, m: number): number {
    const s = this.scratch;
    for (let i = 0; i < m; i++) {
      const v = this.samples[offset + i]!;
      let j = i - 1;
      while (j >= 0 && s[j]! > v) {
        s[j + 1] = s[j]!;
        j--;
      }
      s[j + 1] = v;
    }
    const mid = m >> 1;
    return m % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  }

  private allocate(key: string): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.slots.size;
      if (slot >= this.capacity) this.grow(this.capacity * 2);
    }
    this.slots.set(key, slot);
    return slot;
  }

  private release(key: string, slot: number): void {
    this.slots.delete(key);
    this.free.push(slot);
  }

  private grow(capacity: number): void {
    const n = this.maxSamplesPerContact;
    const samples = new Float32Array(capacity * n);
    samples.set(this.samples);
    this.samples = samples;
    this.sampleCount = extend(this.sampleCount, new Uint32Array(capacity));
    this.smoothedMs = extend(this.smoothedMs, new Float64Array(capacity));
    this.feature = extend(this.feature, new Float64Array(capacity));
    this.lastSeen = extend(this.lastSeen, new Float64Array(capacity));
    this.capacity = capacity;
  }
}

/**
 * Order candidates slowest tier first (stable within a tier; unknown contacts last): where to
 * spill stores under pressure, keeping fast peers free for lookups.
 */
export function slowerTiersFirst<T extends ContactKey | { id: NodeId }>(
  items: readonly T[],
  tiering: Pick<LatencyTiering, 'tierOf'>,
): T[] {
  return orderByTier(items, tiering, -1);
}

/** Order candidates fastest tier first (stable within a tier; unknown contacts last): for lookups. */
export function fasterTiersFirst<T extends ContactKey | { id: NodeId }>(
  items: readonly T[],
  tiering: Pick<LatencyTiering, 'tierOf'>,
): T[] {
  return orderByTier(items, tiering, 1);
}

function orderByTier<T extends ContactKey | { id: NodeId }>(
  items: readonly T[],
  tiering: Pick<LatencyTiering, 'tierOf'>,
  direction: 1 | -1,
): T[] {
  const decorated = items.map((item, index) => {
    const id = typeof item === 'string' || item instanceof Uint8Array ? item : item.id;
    return { item, index, tier: tiering.tierOf(id) };
  });
  decorated.sort((a, b) => {
    if (a.tier === undefined || b.tier === undefined) {
      if (a.tier !== b.tier) return a.tier === undefined ? 1 : -1;
      return a.index - b.index;
    }
    return (a.tier - b.tier) * direction || a.index - b.index;
  });
  return decorated.map((d) => d.item);
}

function extend<A extends Float64Array | Uint32Array>(old: A, fresh: A): A {
  fresh.set(old);
  return fresh;
}

function positive(name: string, value: number): number {
  return positiveNumber(`tiering: ${name}`, value);
}
