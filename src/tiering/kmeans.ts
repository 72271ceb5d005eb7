/**
 * Pure one-dimensional k-means for latency tiering, and the choice of the number of tiers.
 *
 * In one dimension every k-means cluster is a contiguous run of the sorted data, so after one
 * sort a Lloyd iteration only needs the k-1 split points (binary search at the midpoints between
 * centroids) and the segment means (prefix sums): O(k log n) per iteration instead of O(n k).
 * The mean silhouette is exact and O(n) for the same reason (see silhouetteSorted).
 *
 * Initialisation is deterministic: Lloyd runs from a data-quantile start and from a largest-gaps
 * start (the k-1 widest gaps in the sorted data as boundaries: exact for well-separated groups),
 * plus optional k-means++ restarts drawn from an injected Rng; the lowest inertia wins.
 *
 * RTTs are clustered as f = ln(1 + rtt_ms), not raw. Latency regions are multiplicative (LAN ~1 ms,
 * metro ~10, continental ~50-100, intercontinental ~300) and jitter grows with the RTT, so on the
 * raw scale the slow region's jitter outweighs the whole gap between the fast regions: k-means would
 * merge LAN with metro and split intercontinental. On a log scale relative differences count
 * equally. The +1 keeps sub-millisecond differences (0.05 vs 0.3 ms: noise) from looking large.
 */
import { MAX_LATENCY_TIERS, MIN_LATENCY_TIERS } from '../constants.js';
import type { Rng } from '../core/rng.js';

export interface KMeansOptions {
  /** Lloyd iterations per start (each is O(k log n)). Default 50. */
  maxIterations?: number;
  /** When given, adds k-means++ starts drawn from it. */
  rng?: Rng;
  /** Number of k-means++ starts when `rng` is given. Default 1. */
  restarts?: number;
}

export interface KMeansResult {
  /** Ascending. May be shorter than k when the data has fewer distinct values. */
  centroids: number[];
  /** Cluster index of each input value, in input order (0 = smallest centroid). */
  assignments: Uint8Array;
  /** Points per cluster. */
  sizes: number[];
  /** Sum of squared distances to the assigned centroid. */
  inertia: number;
  /** Lloyd iterations of the winning start. */
  iterations: number;
}

/** A clustering of sorted data: centroids ascending and `splits[j]..splits[j+1]` = cluster j. */
export interface SortedClustering {
  centroids: Float64Array;
  splits: Int32Array;
  inertia: number;
  iterations: number;
}

export interface TierCountOptions extends KMeansOptions {
  /** Below this mean silhouette the data counts as one tier. Default 0.7 (see chooseTierCountSorted). */
  minSilhouette?: number;
  /** Adjacent tier centroids closer than this (feature units, ln(1+ms)) are not distinct tiers. Default 0.25 (~28 %). */
  minSeparation?: number;
  /** Choosing k looks at an evenly spaced subsample of at most this many points. Default 2048. */
  maxPoints?: number;
}

const DEFAULT_MAX_ITERATIONS = 50;
const DEFAULT_MIN_SILHOUETTE = 0.7;
const DEFAULT_MIN_SEPARATION = 0.25;
const DEFAULT_MAX_POINTS = 2048;
const SMALL_SAMPLE_MARGIN = 0.5;
/** Assignments are stored in a Uint8Array. */
const MAX_K = 255;

/** The clustering feature of an RTT: ln(1 + ms); negative RTTs count as 0. */
export function rttFeature(rttMs: number): number {
  return Math.log1p(rttMs > 0 ? rttMs : 0);
}

/** Inverse of rttFeature. */
export function rttFromFeature(feature: number): number {
  return Math.expm1(feature);
}

/** k-means of arbitrary 1-D values (no transform). k is clamped to the number of distinct values. */
export function kmeans1d(values: ArrayLike<number>, k: number, options: KMeansOptions = {}): KMeansResult {
  checkK(k);
  const n = values.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`kmeans1d: values[${i}] is not a finite number (${v})`);
    order[i] = i;
  }
  order.sort((a, b) => values[a]! - values[b]!);
  const sorted = new Float64Array(n);
  for (let i = 0; i < n; i++) sorted[i] = values[order[i]!]!;
  const c = kmeansSorted(sorted, k, options);
  const assignments = new Uint8Array(n);
  const sizes: number[] = [];
  for (let j = 0; j < c.centroids.length; j++) {
    sizes.push(c.splits[j + 1]! - c.splits[j]!);
    for (let i = c.splits[j]!; i < c.splits[j + 1]!; i++) assignments[order[i]!] = j;
  }
  return {
    centroids: Array.from(c.centroids),
    assignments,
    sizes,
    inertia: c.inertia,
    iterations: c.iterations,
  };
}

/**
 * k-means of ascending `sorted` values. Every point belongs to its nearest centroid (ties go to the
 * lower one); empty clusters are dropped, so fewer than k centroids come back only when the data
 * has fewer than k distinct values.
 */
export function kmeansSorted(sorted: Float64Array, k: number, options: KMeansOptions = {}): SortedClustering {
  checkK(k);
  const n = sorted.length;
  if (n === 0) return { centroids: new Float64Array(0), splits: Int32Array.of(0), inertia: 0, iterations: 0 };
  const kk = Math.min(k, countDistinct(sorted, k));
  const maxIterations = options.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const sums = prefixSums(sorted);
  const starts = [quantileStart(sorted, kk), largestGapsStart(sorted, sums, kk)];
  if (options.rng)
    for (let r = 0; r < (options.restarts ?? 1); r++) starts.push(plusPlusStart(sorted, kk, options.rng));
  let best: SortedClustering | undefined;
  for (const start of starts) {
    const result = lloyd(sorted, sums, start, maxIterations);
    if (!best || result.inertia < best.inertia) best = result;
  }
  return best!;
}

/**
 * Mean silhouette of a clustering of sorted data, exact in O(n). For x in cluster C,
 * a = mean |x - y| over the rest of C (prefix sums), and b = mean distance to the nearest other
 * cluster; other clusters lie wholly on one side of x, so that mean is |x - mean(C')| and the
 * nearest is an adjacent one. s = (b - a) / max(a, b); singletons score 0; one cluster scores 0.
 */
export function silhouetteSorted(
  sorted: Float64Array,
  clustering: SortedClustering,
  sums = prefixSums(sorted),
): number {
  const { centroids, splits } = clustering;
  const k = centroids.length;
  const n = sorted.length;
  if (k < 2 || n === 0) return 0;
  const S = sums.s;
  const means = new Float64Array(k);
  for (let j = 0; j < k; j++)
    means[j] = (S[splits[j + 1]!]! - S[splits[j]!]!) / (splits[j + 1]! - splits[j]!);
  let total = 0;
  for (let j = 0; j < k; j++) {
    const lo = splits[j]!;
    const hi = splits[j + 1]!;
    if (hi - lo < 2) continue;
    for (let i = lo; i < hi; i++) {
      const x = sorted[i]!;
      const below = x * (i - lo) - (S[i]! - S[lo]!);
      const above = S[hi]! - S[i + 1]! - x * (hi - i - 1);
      const a = (below + above) / (hi - lo - 1);
      let b = Infinity;
      if (j > 0) b = x - means[j - 1]!;
      if (j < k - 1) b = Math.min(b, means[j + 1]! - x);
      const m = Math.max(a, b);
      total += m > 0 ? (b - a) / m : 0;
    }
  }
  return total / n;
}

/**
 * How many latency tiers the RTT samples (ms) support, within [min, max] and at most the number of
 * distinct values. Works on ln(1 + rtt). See chooseTierCountSorted for the rule.
 */
export function chooseTierCount(
  samples: ArrayLike<number>,
  min = MIN_LATENCY_TIERS,
  max = MAX_LATENCY_TIERS,
  options: TierCountOptions = {},
): number {
  const features = new Float64Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    if (!Number.isFinite(v))
      throw new RangeError(`chooseTierCount: samples[${i}] is not a finite number (${v})`);
    features[i] = rttFeature(v);
  }
  features.sort();
  return chooseTierCountSorted(features, min, max, options);
}

/**
 * The tier-count rule on sorted features: among k in [max(2, min), max], keep the k whose adjacent
 * centroids are all at least minSeparation apart, and take the one with the best mean silhouette.
 * One tier wins (when min allows) if no k qualifies or the best silhouette is below minSilhouette:
 * splitting a single unimodal group scores ~0.5-0.6 (0.5 for uniform data, ~0.55 for a normal), while
 * real gaps score 0.8+, hence the 0.7 default.
 */
export function chooseTierCountSorted(
  sorted: Float64Array,
  min = MIN_LATENCY_TIERS,
  max = MAX_LATENCY_TIERS,
  options: TierCountOptions = {},
): number {
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min || max > MAX_K) {
    throw new RangeError(
      `chooseTierCount: need integers 1 <= min <= max <= ${MAX_K}, got min=${min} max=${max}`,
    );
  }
  const data = subsample(sorted, options.maxPoints ?? DEFAULT_MAX_POINTS);
  const distinct = countDistinct(data, max);
  if (distinct <= 1) return 1;
  const minSeparation = options.minSeparation ?? DEFAULT_MIN_SEPARATION;
  const minSilhouette = options.minSilhouette ?? DEFAULT_MIN_SILHOUETTE;
  const sums = prefixSums(data);
  let bestK = 0;
  let bestScore = -Infinity;
  for (let k = Math.max(2, min); k <= Math.min(max, distinct); k++) {
    const c = kmeansSorted(data, k, options);
    if (c.centroids.length < k || !separated(c.centroids, minSeparation)) continue;
    const score = silhouetteSorted(data, c, sums);
    if (score > bestScore) {
      bestScore = score;
      bestK = k;
    }
  }
  // Few points give noisy silhouettes (a unimodal sample of 8 can score 0.8): demand more of them.
  const required = minSilhouette + SMALL_SAMPLE_MARGIN / Math.sqrt(data.length);
  if (min <= 1 && (bestK === 0 || bestScore < required)) return 1;
  return bestK === 0 ? Math.min(Math.max(2, min), distinct) : bestK;
}

// --- internals -------------------------------------------------------------------------------

interface Sums {
  /** s[i] = sum of the first i values. */
  s: Float64Array;
}

function prefixSums(sorted: Float64Array): Sums {
  const n = sorted.length;
  const s = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) s[i + 1] = s[i]! + sorted[i]!;
  return { s };
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1 || k > MAX_K)
    throw new RangeError(`k-means: k must be an integer in 1..${MAX_K}, got ${k}`);
}

/** Distinct values in sorted data, counting no further than `cap`. */
function countDistinct(sorted: Float64Array, cap: number): number {
  if (sorted.length === 0) return 0;
  let count = 1;
  for (let i = 1; i < sorted.length && count < cap; i++) if (sorted[i]! !== sorted[i - 1]!) count++;
  return count;
}

function separated(centroids: Float64Array, minGap: number): boolean {
  for (let j = 1; j < centroids.length; j++) if (centroids[j]! - centroids[j - 1]! < minGap) return false;
  return true;
}

/** Evenly spaced order statistics: keeps the shape of the distribution at a bounded size. */
function subsample(sorted: Float64Array, maxPoints: number): Float64Array {
  const n = sorted.length;
  if (n <= maxPoints) return sorted;
  const out = new Float64Array(maxPoints);
  for (let i = 0; i < maxPoints; i++) out[i] = sorted[Math.floor(((i + 0.5) * n) / maxPoints)]!;
  return out;
}

/** First index whose value is greater than x. */
function upperBound(sorted: Float64Array, x: number, lo: number): number {
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Distinct ascending starting centroids at the data quantiles (falls back to distinct values). */
function quantileStart(sorted: Float64Array, k: number): Float64Array {
  const n = sorted.length;
  const c = new Float64Array(k);
  let ok = true;
  for (let j = 0; j < k; j++) {
    c[j] = sorted[Math.floor(((j + 0.5) * n) / k)]!;
    if (j > 0 && c[j]! <= c[j - 1]!) ok = false;
  }
  if (ok) return c;
  const distinct: number[] = [];
  for (let i = 0; i < n; i++) if (i === 0 || sorted[i]! !== sorted[i - 1]!) distinct.push(sorted[i]!);
  for (let j = 0; j < k; j++) c[j] = distinct[Math.floor(((j + 0.5) * distinct.length) / k)]!;
  return c;
}

/** Cut the sorted data at its k-1 widest gaps; the segment means are the start. */
function largestGapsStart(sorted: Float64Array, sums: Sums, k: number): Float64Array {
  const n = sorted.length;
  const cuts: number[] = []; // indices i: cut between i-1 and i, widest first
  const widths: number[] = [];
  for (let i = 1; i < n; i++) {
    const w = sorted[i]! - sorted[i - 1]!;
    if (w <= 0) continue;
    let p = cuts.length;
    if (p === k - 1 && w <= widths[p - 1]!) continue;
    while (p > 0 && widths[p - 1]! < w) p--;
    cuts.splice(p, 0, i);
    widths.splice(p, 0, w);
    if (cuts.length > k - 1) {
      cuts.pop();
      widths.pop();
    }
  }
  cuts.sort((a, b) => a - b);
  const c = new Float64Array(k);
  let lo = 0;
  for (let j = 0; j < k; j++) {
    const hi = j < cuts.length ? cuts[j]! : n;
    c[j] = (sums.s[hi]! - sums.s[lo]!) / (hi - lo);
    lo = hi;
  }
  return c;
}

/** k-means++: first centroid uniform, then each with probability proportional to D². */
function plusPlusStart(sorted: Float64Array, k: number, rng: Rng): Float64Array {
  const n = sorted.length;
  const chosen: number[] = [sorted[rng.int(n)]!];
  const d2 = new Float64Array(n).fill(Infinity);
  while (chosen.length < k) {
    const latest = chosen[chosen.length - 1]!;
    let total = 0;
    for (let i = 0; i < n; i++) {
      d2[i] = Math.min(d2[i]!, (sorted[i]! - latest) ** 2);
      total += d2[i]!;
    }
    if (total === 0) break;
    let r = rng.next() * total;
    let pick = n - 1;
    for (let i = 0; i < n; i++) {
      r -= d2[i]!;
      if (r < 0) {
        pick = i;
        break;
      }
    }
    chosen.push(sorted[pick]!);
  }
  chosen.sort((a, b) => a - b);
  return Float64Array.from(chosen);
}

/** Lloyd's algorithm on sorted data from ascending distinct `start` centroids. */
function lloyd(
  sorted: Float64Array,
  sums: Sums,
  start: Float64Array,
  maxIterations: number,
): SortedClustering {
  let c = Float64Array.from(start);
  let splits = splitsFor(sorted, c);
  let iterations = 0;
  while (iterations < maxIterations) {
    iterations++;
    const next = new Float64Array(c.length);
    let empty = -1;
    for (let j = 0; j < c.length; j++) {
      const lo = splits[j]!;
      const hi = splits[j + 1]!;
      if (hi === lo) {
        empty = j;
        next[j] = c[j]!;
      } else next[j] = (sums.s[hi]! - sums.s[lo]!) / (hi - lo);
    }
    if (empty >= 0) {
      // Reseed the empty cluster at the point farthest from its centroid (some cluster must
      // hold two distinct values, since the data has at least k of them).
      next[empty] = farthestPoint(sorted, next, splits);
      next.sort();
    }
    const nextSplits = splitsFor(sorted, next);
    const stable = empty < 0 && sameSplits(splits, nextSplits);
    c = next;
    splits = nextSplits;
    if (stable) break;
  }
  // Drop clusters that ended empty (only possible when iterations ran out mid-reseed).
  const keep: number[] = [];
  for (let j = 0; j < c.length; j++) if (splits[j + 1]! > splits[j]!) keep.push(c[j]!);
  if (keep.length < c.length) {
    c = Float64Array.from(keep);
    splits = splitsFor(sorted, c);
  }
  return { centroids: c, splits, inertia: inertiaOf(sorted, c, splits), iterations };
}

function splitsFor(sorted: Float64Array, c: Float64Array): Int32Array {
  const k = c.length;
  const splits = new Int32Array(k + 1);
  splits[k] = sorted.length;
  for (let j = 1; j < k; j++) splits[j] = upperBound(sorted, (c[j - 1]! + c[j]!) / 2, splits[j - 1]!);
  return splits;
}

function sameSplits(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function farthestPoint(sorted: Float64Array, c: Float64Array, splits: Int32Array): number {
  let best = -1;
  let point = sorted[0]!;
  for (let j = 0; j < c.length; j++) {
    const lo = splits[j]!;
    const hi = splits[j + 1]!;
    if (hi === lo) continue;
    for (const v of [sorted[lo]!, sorted[hi - 1]!]) {
      const d = Math.abs(v - c[j]!);
      if (d > best) {
        best = d;
        point = v;
      }
    }
  }
  return point;
}

/** Exact sum of squared distances (direct, O(n): prefix sums of squares lose precision far from 0). */
function inertiaOf(sorted: Float64Array, c: Float64Array, splits: Int32Array): number {
  let total = 0;
  for (let j = 0; j < c.length; j++) {
    const centre = c[j]!;
    for (let i = splits[j]!; i < splits[j + 1]!; i++) total += (sorted[i]! - centre) ** 2;
  }
  return total;
}
