import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import { chooseTierCount, kmeans1d, rttFeature, rttFromFeature } from '../../src/tiering/kmeans.js';

function gaussian(rng: SeededRng): number {
  let u = 0;
  while (u === 0) u = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** `groups` RTT regions, well separated on the log scale (≥ 1.0 apart, jitter sd ≤ 0.08). */
function regions(seed: number, groups: number, perGroup: number) {
  const rng = new SeededRng(seed);
  const centres: number[] = [];
  let f = 0.2 + rng.next();
  for (let g = 0; g < groups; g++) {
    centres.push(f);
    f += 1.0 + rng.next() * 0.6;
  }
  const sd = 0.01 + rng.next() * 0.07;
  const rtts: number[] = [];
  const labels: number[] = [];
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < perGroup; i++) {
      rtts.push(rttFromFeature(centres[g]! + sd * gaussian(rng)));
      labels.push(g);
    }
  }
  // Shuffle so input order carries no hint.
  for (let i = rtts.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [rtts[i], rtts[j]] = [rtts[j]!, rtts[i]!];
    [labels[i], labels[j]] = [labels[j]!, labels[i]!];
  }
  return { rtts, labels, centres };
}

describe('kmeans1d', () => {
  it('returns sorted centroids and assigns every point to its nearest centroid (seeded property)', () => {
    fc.assert(
      fc.property(
        // Millisecond-resolution values, plus small integers so duplicates are common.
        fc.array(
          fc.oneof(
            fc.integer({ min: -1e9, max: 1e9 }).map((x) => x / 1000),
            fc.integer({ min: 0, max: 5 }),
          ),
          {
            minLength: 1,
            maxLength: 300,
          },
        ),
        fc.integer({ min: 1, max: 7 }),
        (values, k) => {
          const r = kmeans1d(values, k);
          const distinct = new Set(values.map((v) => v + 0)).size;
          expect(r.centroids.length).toBe(Math.min(k, distinct));
          for (let j = 1; j < r.centroids.length; j++)
            expect(r.centroids[j]!).toBeGreaterThan(r.centroids[j - 1]!);
          expect(r.sizes.reduce((a, b) => a + b, 0)).toBe(values.length);
          expect(r.sizes.every((s) => s > 0)).toBe(true);
          let inertia = 0;
          values.forEach((v, i) => {
            const mine = Math.abs(v - r.centroids[r.assignments[i]!]!);
            for (const c of r.centroids)
              expect(mine).toBeLessThanOrEqual(Math.abs(v - c) + 1e-9 * Math.max(1, Math.abs(v)));
            inertia += mine * mine;
          });
          expect(r.inertia).toBeCloseTo(inertia, -Math.ceil(Math.log10(Math.max(1, inertia))) + 6);
          // Deterministic without an rng.
          expect(kmeans1d(values, k).centroids).toEqual(r.centroids);
        },
      ),
      { seed: 424242, numRuns: 300 },
    );
  });

  it('recovers well-separated groups exactly, centroids at the group means', () => {
    for (let groups = 1; groups <= 7; groups++) {
      const { rtts, labels } = regions(groups * 101, groups, 30);
      const features = rtts.map(rttFeature);
      const r = kmeans1d(features, groups, { rng: new SeededRng(groups) });
      expect(r.centroids).toHaveLength(groups);
      // Same partition as the generating labels (groups are generated in ascending order).
      features.forEach((_, i) => expect(r.assignments[i]).toBe(labels[i]));
      for (let g = 0; g < groups; g++) {
        const members = features.filter((_, i) => labels[i] === g);
        expect(r.centroids[g]).toBeCloseTo(members.reduce((a, b) => a + b, 0) / members.length, 9);
      }
    }
  });

  it('handles duplicates, a single value and empty input', () => {
    expect(kmeans1d([5, 5, 5, 5], 3).centroids).toEqual([5]);
    expect(kmeans1d([1, 1, 2, 2, 2], 4)).toMatchObject({ centroids: [1, 2], sizes: [2, 3], inertia: 0 });
    expect(kmeans1d([], 3)).toMatchObject({ centroids: [], sizes: [], inertia: 0 });
  });

  it('rejects a bad k or non-finite values with a RangeError naming the problem', () => {
    expect(() => kmeans1d([1, 2], 0)).toThrow(/k must be an integer/);
    expect(() => kmeans1d([1, 2], 2.5)).toThrow(RangeError);
    expect(() => kmeans1d([1, Number.NaN], 2)).toThrow(/values\[1\]/);
    expect(() => chooseTierCount([1, 2], 3, 2)).toThrow(/min <= max/);
    expect(() => chooseTierCount([1, Infinity])).toThrow(/samples\[1\]/);
  });
});

describe('chooseTierCount', () => {
  it('finds the number of well-separated RTT regions, 1..7 (seeded property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 5, max: 60 }),
        fc.nat(),
        (groups, perGroup, seed) => {
          const { rtts } = regions(seed, groups, perGroup);
          expect(chooseTierCount(rtts)).toBe(groups);
        },
      ),
      { seed: 7, numRuns: 150 },
    );
  });

  it('a single tight cluster is one tier, and so is a broad unimodal one', () => {
    const rng = new SeededRng(3);
    const tight = Array.from({ length: 200 }, () => 40 * (1 + 0.05 * gaussian(rng)));
    expect(chooseTierCount(tight)).toBe(1);
    const broad = Array.from({ length: 500 }, () => rttFromFeature(rttFeature(80) + 0.3 * gaussian(rng)));
    expect(chooseTierCount(broad)).toBe(1);
    // Quantised timers: two values 2 % apart are not two tiers.
    expect(chooseTierCount([...Array(50).fill(9.9), ...Array(50).fill(10.1)])).toBe(1);
    expect(chooseTierCount([])).toBe(1);
    expect(chooseTierCount([12])).toBe(1);
  });

  it('respects min and max', () => {
    const { rtts } = regions(11, 4, 40);
    expect(chooseTierCount(rtts)).toBe(4);
    expect(chooseTierCount(rtts, 1, 2)).toBeLessThanOrEqual(2);
    expect(chooseTierCount(rtts, 5, 7)).toBeGreaterThanOrEqual(5);
    expect(chooseTierCount([7, 7, 7], 3, 5)).toBe(1); // cannot exceed the distinct values
  });

  it('clusters on log-RTT: raw milliseconds would merge LAN with metro and split the far region', () => {
    const rng = new SeededRng(5);
    const lan = Array.from({ length: 50 }, () => 1 + 0.1 * gaussian(rng));
    const metro = Array.from({ length: 50 }, () => 10 + 1 * gaussian(rng));
    const far = Array.from({ length: 50 }, () => 300 + 40 * gaussian(rng));
    const all = [...lan, ...metro, ...far];
    expect(chooseTierCount(all)).toBe(3);
    const logCentres = kmeans1d(all.map(rttFeature), 3).centroids.map(rttFromFeature);
    expect(logCentres[0]).toBeCloseTo(1, 0);
    expect(logCentres[1]).toBeGreaterThan(8);
    expect(logCentres[1]).toBeLessThan(12);
    const raw = kmeans1d(all, 3);
    expect(raw.centroids[0]).toBeGreaterThan(4); // LAN and metro lumped together
    expect(raw.centroids[1]).toBeGreaterThan(100); // the far region split in two
  });
});
