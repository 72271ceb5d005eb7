/**
 * Ground truth and summary statistics for simulated lookups.
 *
 * `closestLive` answers "which live node is truly XOR-closest to this target" by brute force
 * over all live ids: the comparison the lookup success rate is judged against. To stay cheap at
 * 10,000 nodes x 10,000 targets it compares the first 32 bits of the distance as one integer
 * and looks at further bytes only on a tie, which is exact and ~100M integer ops in total.
 */
import type { NodeId } from '../core/types.js';

function word(id: Uint8Array, off: number): number {
  return ((id[off]! << 24) | (id[off + 1]! << 16) | (id[off + 2]! << 8) | id[off + 3]!) >>> 0;
}

/** Negative when `a` is closer to `target` than `b` by XOR distance, 0 when equal. */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < target.length; i++) {
    const da = a[i]! ^ target[i]!;
    const db = b[i]! ^ target[i]!;
    if (da !== db) return da - db;
  }
  return 0;
}

/** A snapshot of the live node ids, answering closest-node queries by exhaustive scan. */
export class ClosestOracle {
  private readonly ids: NodeId[];
  private readonly heads: Uint32Array;

  constructor(ids: Iterable<NodeId>) {
    this.ids = [...ids];
    this.heads = new Uint32Array(this.ids.length);
    this.ids.forEach((id, i) => (this.heads[i] = word(id, 0)));
  }

  get size(): number {
    return this.ids.length;
  }

  /**
   * Index (into the constructor's order) of the node closest to `target`, leaving out index
   * `exclude` (a lookup never returns the node that runs it); -1 when there is none.
   */
  closestIndex(target: NodeId, exclude = -1): number {
    const t = word(target, 0);
    const heads = this.heads;
    let best = -1;
    let bestD = Infinity;
    for (let i = 0; i < heads.length; i++) {
      if (i === exclude) continue;
      const d = (heads[i]! ^ t) >>> 0;
      if (d < bestD || (d === bestD && compareDistance(target, this.ids[i]!, this.ids[best]!) < 0)) {
        best = i;
        bestD = d;
      }
    }
    return best;
  }

  closest(target: NodeId): NodeId | undefined {
    const i = this.closestIndex(target);
    return i < 0 ? undefined : this.ids[i];
  }
}

export interface Summary {
  p50: number;
  p95: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles of `values` (an empty list gives zeros). */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) return { p50: 0, p95: 0, max: 0, mean: 0 };
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { p50: rank(0.5), p95: rank(0.95), max: sorted[sorted.length - 1]!, mean: sum / sorted.length };
}
