/**
 * The statistics behind flakiness numbers and baseline comparisons. Pure functions, no I/O.
 *
 *   wilsonInterval      confidence interval of a success ratio (k of n): stays inside [0, 1] and is honest at
 *                       k = n and small n, where the textbook p ± z·se interval collapses to a point
 *   fisherLowerP        one-sided Fisher's exact test: is the second ratio lower than the first? Exact at the
 *                       small counts a lab run has (5 or 20 repeats), no normal approximation
 *   mannWhitneyGreaterP one-sided Mann–Whitney U (rank-sum) test: do the values of `x` tend to be larger than
 *                       those of `y`? Exact permutation distribution (ties handled by midranks) while it is
 *                       cheap to count, normal approximation with tie and continuity correction beyond
 *   holm                Holm–Bonferroni adjusted p-values: family-wise error control over all the tests of a
 *                       run, so 36 cells × 3 tests do not add up to a false alarm per run
 *   hodgesLehmannShift  median of all pairwise differences x − y: the shift estimate that goes with the U test
 */
import { errorFunction, probit } from 'simple-statistics';

/** 1 − Φ(x) for the standard normal distribution (relative error ~1e-7: erfc after Numerical Recipes). */
export function normalUpperTail(x: number): number {
  if (x === Infinity) return 0;
  if (x === -Infinity) return 1;
  const erf = errorFunction(Math.abs(x) / Math.SQRT2);
  return x >= 0 ? (1 - erf) / 2 : (1 + erf) / 2;
}

/** Φ⁻¹(p): probit's closed-form guess (~1e-3) polished by two Newton steps on normalUpperTail. */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  let z = probit(p);
  for (let i = 0; i < 2; i++) {
    const density = Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
    z -= (1 - normalUpperTail(z) - p) / density;
  }
  return z;
}

export interface Interval {
  low: number;
  high: number;
}

/** Wilson score interval of k successes in n trials at `confidence` (two-sided); [0, 1] when n = 0. */
export function wilsonInterval(k: number, n: number, confidence = 0.95): Interval {
  if (!(confidence > 0 && confidence < 1))
    throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  if (n === 0) return { low: 0, high: 1 };
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { low: k === 0 ? 0 : Math.max(0, centre - half), high: k === n ? 1 : Math.min(1, centre + half) };
}

/** log(i!) for i = 0..n. */
function logFactorials(n: number): Float64Array {
  const out = new Float64Array(n + 1);
  for (let i = 2; i <= n; i++) out[i] = out[i - 1]! + Math.log(i);
  return out;
}

/**
 * One-sided Fisher's exact test on a 2×2 table: `k1` successes of `n1` (before) and `k2` of `n2` (now).
 * Returns P(K2 ≤ k2) under "same success probability", K2 hypergeometric given the total successes:
 * small when the second ratio is lower than chance explains.
 */
export function fisherLowerP(k1: number, n1: number, k2: number, n2: number): number {
  const n = n1 + n2;
  const k = k1 + k2;
  if (n1 === 0 || n2 === 0) return 1;
  const lf = logFactorials(n);
  const logChoose = (a: number, b: number): number => lf[a]! - lf[b]! - lf[a - b]!;
  const lo = Math.max(0, n2 - (n - k));
  const denominator = logChoose(n, n2);
  let p = 0;
  for (let x = lo; x <= k2; x++) p += Math.exp(logChoose(k, x) + logChoose(n - k, n2 - x) - denominator);
  return Math.min(1, p);
}

/** Midranks (1-based; tied values share the mean of their ranks) of `values`, in input order. */
export function midranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) ranks[order[t]![1]] = rank;
    i = j + 1;
  }
  return ranks;
}

/** Above this many DP cell updates the U test uses the normal approximation (~0.1 s of work). */
const EXACT_COST_LIMIT = 3e7;

/**
 * One-sided Mann–Whitney U test: P(rank sum of x ≥ observed) when x and y come from one distribution.
 * Small when x tends to be larger than y. Exact (the permutation distribution of the midrank sum, counted
 * by dynamic programming over doubled — so integral — midranks) while that is cheap; the normal
 * approximation with tie correction and continuity correction beyond. 1 when either side is empty.
 */
export function mannWhitneyGreaterP(
  x: readonly number[],
  y: readonly number[],
  opts: { exact?: boolean } = {},
): number {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) return 1;
  const n = n1 + n2;
  const ranks = midranks([...x, ...y]);
  const doubled = ranks.map((r) => Math.round(2 * r));
  let observed = 0;
  for (let i = 0; i < n1; i++) observed += doubled[i]!;
  const maxSum = n * (n + 1);
  if (opts.exact ?? n * n1 * maxSum <= EXACT_COST_LIMIT) {
    // ways[j * (maxSum + 1) + s]: subsets of j of the items seen so far with doubled rank sum s
    const width = maxSum + 1;
    const ways = new Float64Array((n1 + 1) * width);
    ways[0] = 1;
    let reach = 0; // the largest sum any subset of the items seen so far can have
    doubled.forEach((r, i) => {
      reach += r;
      for (let j = Math.min(n1, i + 1); j >= 1; j--) {
        const row = j * width;
        const prev = (j - 1) * width;
        for (let s = reach; s >= r; s--) ways[row + s]! += ways[prev + s - r]!;
      }
    });
    let total = 0;
    let tail = 0;
    for (let s = 0; s <= maxSum; s++) {
      const w = ways[n1 * width + s]!;
      total += w;
      if (s >= observed) tail += w;
    }
    return Math.min(1, tail / total);
  }
  const u = observed / 2 - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const counts = new Map<number, number>();
  for (const r of ranks) counts.set(r, (counts.get(r) ?? 0) + 1);
  let ties = 0;
  for (const t of counts.values()) ties += t * t * t - t;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (variance <= 0) return 1;
  return normalUpperTail((u - mean - 0.5) / Math.sqrt(variance));
}

/** Holm–Bonferroni adjusted p-values, in the order given (each in [0, 1], monotone in the raw p). */
export function holm(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

/** Median of a list (mean of the middle two for an even length); NaN for an empty one. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Hodges–Lehmann estimate of how much larger x is than y: the median of all differences x_i − y_j. */
export function hodgesLehmannShift(x: readonly number[], y: readonly number[]): number {
  const diffs: number[] = [];
  for (const a of x) for (const b of y) diffs.push(a - b);
  return median(diffs);
}
