import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fisherLowerP,
  hodgesLehmannShift,
  holm,
  mannWhitneyGreaterP,
  median,
  midranks,
  normalQuantile,
  normalUpperTail,
  wilsonInterval,
} from '../../cli/lab/verdicts/stats.js';

describe('report statistics', () => {
  it('computes normal tails and quantiles', () => {
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 7);
    expect(normalUpperTail(1.959963984540054)).toBeCloseTo(0.025, 7);
    expect(normalUpperTail(-1.959963984540054)).toBeCloseTo(0.975, 7);
    expect(normalUpperTail(4) / 3.167124183311992e-5).toBeCloseTo(1, 5);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 6);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 7);
    expect(() => normalQuantile(1)).toThrow(RangeError);
  });

  it('gives Wilson intervals (values as R binom::binom.wilson prints them)', () => {
    const at = (k: number, n: number) => wilsonInterval(k, n);
    expect(at(0, 10).low).toBe(0);
    expect(at(0, 10).high).toBeCloseTo(0.2775, 4);
    expect(at(10, 10).low).toBeCloseTo(0.7225, 4);
    expect(at(10, 10).high).toBe(1);
    expect(at(5, 10).low).toBeCloseTo(0.2366, 4);
    expect(at(5, 10).high).toBeCloseTo(0.7634, 4);
    expect(at(20, 20).low).toBeCloseTo(0.8389, 4);
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
    // a wider confidence gives a wider interval
    expect(wilsonInterval(18, 20, 0.99).low).toBeLessThan(wilsonInterval(18, 20, 0.9).low);
  });

  it('keeps the Wilson interval inside [0, 1] around the observed ratio', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, share) => {
          const k = Math.round(share * n);
          const { low, high } = wilsonInterval(k, n);
          expect(low).toBeGreaterThanOrEqual(0);
          expect(high).toBeLessThanOrEqual(1);
          expect(low).toBeLessThanOrEqual(k / n + 1e-12);
          expect(high).toBeGreaterThanOrEqual(k / n - 1e-12);
        },
      ),
      { seed: 15, numRuns: 300 },
    );
  });

  it("runs Fisher's exact test one-sided (R: fisher.test(alternative = 'greater'))", () => {
    // the lady tasting tea: 3 of 4 vs 1 of 4
    expect(fisherLowerP(3, 4, 1, 4)).toBeCloseTo(17 / 70, 10);
    // 20/20 before, 0/5 now: only one table is as extreme
    expect(fisherLowerP(20, 20, 0, 5)).toBeCloseTo(1 / 53130, 12);
    expect(fisherLowerP(20, 20, 5, 5)).toBe(1);
    expect(fisherLowerP(5, 5, 0, 0)).toBe(1);
    // 19/20 vs 4/5: nothing to see
    expect(fisherLowerP(19, 20, 4, 5)).toBeGreaterThan(0.2);
  });

  it('ranks with midranks', () => {
    expect(midranks([10, 20, 20, 5])).toEqual([2, 3.5, 3.5, 1]);
  });

  it('runs the Mann–Whitney U test exactly (R: wilcox.test(x, y, alternative = "greater"))', () => {
    // R's documentation example: W = 35, p-value = 0.1272
    const x = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
    const y = [1.15, 0.88, 0.9, 0.74, 1.21];
    expect(mannWhitneyGreaterP(x, y)).toBeCloseTo(0.1272, 4);
    // complete separation: 1 / C(6, 3)
    expect(mannWhitneyGreaterP([4, 5, 6], [1, 2, 3])).toBeCloseTo(0.05, 12);
    expect(mannWhitneyGreaterP([1, 2, 3], [4, 5, 6])).toBe(1);
    expect(mannWhitneyGreaterP([], [1])).toBe(1);
  });

  it('counts the exact distribution with ties (conditional on them)', () => {
    // ranks of paths: 20 repeats hole-punched before, 5 relayed now
    const before = Array<number>(20).fill(1);
    const now = Array<number>(5).fill(2);
    expect(mannWhitneyGreaterP(now, before)).toBeCloseTo(1 / 53130, 12);
    // all tied: no evidence at all
    expect(mannWhitneyGreaterP([1, 1], [1, 1, 1])).toBe(1);
  });

  it('agrees with its normal approximation, which it uses past the exact limit', () => {
    const make = (n: number, shift: number) =>
      Array.from({ length: n }, (_, i) => ((i * 7919) % 101) + shift);
    const pLarge = mannWhitneyGreaterP(make(80, 12), make(80, 0));
    expect(pLarge).toBeCloseTo(mannWhitneyGreaterP(make(80, 12), make(80, 0), { exact: false }), 12);
    expect(pLarge).toBeLessThan(0.01);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 15, maxLength: 25 }),
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 15, maxLength: 25 }),
        (x, y) => {
          const exact = mannWhitneyGreaterP(x, y);
          expect(exact).toBeGreaterThanOrEqual(0);
          expect(exact).toBeLessThanOrEqual(1);
          expect(Math.abs(exact - mannWhitneyGreaterP(x, y, { exact: false }))).toBeLessThan(0.02);
          // the exact one-sided p-values of both directions cover every outcome at least once
          expect(exact + mannWhitneyGreaterP(y, x)).toBeGreaterThanOrEqual(1 - 1e-9);
        },
      ),
      { seed: 7, numRuns: 60 },
    );
  });

  it('adjusts p-values by Holm', () => {
    expect(holm([0.01, 0.04, 0.03, 0.005])).toEqual([0.03, 0.06, 0.06, 0.02]);
    expect(holm([0.5, 0.9])).toEqual([1, 1]);
    expect(holm([])).toEqual([]);
  });

  it('estimates the shift by Hodges–Lehmann', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(Number.isNaN(median([]))).toBe(true);
    expect(hodgesLehmannShift([110, 120, 130], [10, 20, 30])).toBe(100);
  });
});
