import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import { ConfigError } from '../../src/errors.js';
import { ChurnProcess, pickChurned } from '../../src/sim/churn.js';
import { ClosestOracle, compareDistance, summarize } from '../../src/sim/ground-truth.js';
import { DEFAULT_RTT_MATRIX, LatencyModel } from '../../src/sim/latency.js';

const addrs = Array.from({ length: 400 }, (_, i) => `10.0.${i >> 8}.${i & 255}:4433`);

describe('LatencyModel', () => {
  it('places nodes in regions with RTTs from the matrix plus access links', () => {
    const m = new LatencyModel({ seed: 3 });
    addrs.forEach((a) => m.addNode(a));
    const regions = new Set(addrs.map((a) => m.regionOf(a)));
    expect(regions.size).toBe(5);
    for (let i = 0; i < 100; i++) {
      const a = addrs[i]!;
      const b = addrs[399 - i]!;
      const rtt = m.rttMs(a, b);
      expect(rtt).toBe(m.rttMs(b, a));
      if (m.regionOf(a) === m.regionOf(b)) {
        expect(rtt).toBeGreaterThanOrEqual(5);
        expect(rtt).toBeLessThanOrEqual(20);
      } else {
        expect(rtt).toBeGreaterThanOrEqual(65);
        expect(rtt).toBeLessThanOrEqual(250 + 15);
      }
      const oneWay = m.oneWayMs(a, b);
      expect(Number.isInteger(oneWay)).toBe(true); // default resolution: 1 ms
      expect(oneWay).toBeGreaterThanOrEqual(Math.round(rtt / 2) - 1);
      expect(oneWay).toBeLessThanOrEqual(rtt / 2 + 4 + 0.5);
      const exact = new LatencyModel({ seed: 3, resolutionMs: 0 });
      exact.addNode(a);
      exact.addNode(b);
      expect(exact.oneWayMs(a, b)).toBeGreaterThanOrEqual(exact.rttMs(a, b) / 2);
    }
    expect(DEFAULT_RTT_MATRIX.every((row, i) => row.every((v, j) => v === DEFAULT_RTT_MATRIX[j]![i]))).toBe(true);
  });

  it('is reproducible from its seed', () => {
    const draw = (seed: number): number[] => {
      const m = new LatencyModel({ seed, lossRate: 0.1 });
      addrs.forEach((a) => m.addNode(a));
      return addrs.slice(1).map((a, i) => m.oneWayMs(addrs[i]!, a) + (m.drop() ? 1000 : 0));
    };
    expect(draw(9)).toEqual(draw(9));
    expect(draw(9)).not.toEqual(draw(10));
  });

  it('uniform model has one base RTT; loss drops about the configured share', () => {
    const m = new LatencyModel({ kind: 'uniform', uniformRttMs: 80, accessRttMs: [0, 0], maxJitterMs: 0, lossRate: 0.2, seed: 1 });
    addrs.forEach((a) => m.addNode(a));
    expect(m.rttMs(addrs[0]!, addrs[1]!)).toBe(80);
    expect(m.oneWayMs(addrs[5]!, addrs[6]!)).toBe(40);
    let dropped = 0;
    for (let i = 0; i < 10_000; i++) if (m.drop()) dropped++;
    expect(dropped).toBeGreaterThan(1800);
    expect(dropped).toBeLessThan(2200);
  });

  it('rejects bad options and unknown nodes with ConfigError', () => {
    expect(() => new LatencyModel({ lossRate: 1 })).toThrow(ConfigError);
    expect(() => new LatencyModel({ rttMatrixMs: [[1]] })).toThrow(/matrix/);
    expect(() => new LatencyModel({ kind: 'mesh' as never })).toThrow(/regions/);
    expect(() => new LatencyModel().rttMs('a:1', 'b:2')).toThrow(/unknown node/);
  });
});

describe('churn', () => {
  it('pickChurned takes a seeded fraction of distinct members', () => {
    const live = Array.from({ length: 1000 }, (_, i) => i);
    const a = pickChurned(live, 0.25, new SeededRng(4));
    expect(a).toHaveLength(250);
    expect(new Set(a).size).toBe(250);
    expect(pickChurned(live, 0.25, new SeededRng(4))).toEqual(a);
    expect(() => pickChurned(live, 1.5, new SeededRng(4))).toThrow(ConfigError);
  });

  it('ChurnProcess fires leaves and joins at about the configured rates', () => {
    const clock = new ManualClock();
    let live = 500;
    const churn = new ChurnProcess({
      clock,
      rng: new SeededRng(2),
      leavesPerSec: 2,
      joinsPerSec: 1,
      leave: (pick) => {
        if (live === 0) return false;
        expect(pick(live)).toBeLessThan(live);
        live--;
        return true;
      },
      join: () => {
        live++;
      },
    });
    churn.start();
    clock.advance(100_000);
    churn.stop();
    clock.advance(100_000);
    expect(churn.left).toBeGreaterThan(160);
    expect(churn.left).toBeLessThan(240);
    expect(churn.joined).toBeGreaterThan(70);
    expect(churn.joined).toBeLessThan(130);
    expect(live).toBe(500 - churn.left + churn.joined);
  });
});

describe('ground truth', () => {
  it('ClosestOracle agrees with a full sort by XOR distance', () => {
    const rng = new SeededRng(11);
    const ids = Array.from({ length: 300 }, () => rng.bytes(32));
    // Ids sharing a 4-byte prefix exercise the tie-break on later bytes.
    ids.push(Uint8Array.from([...ids[0]!.subarray(0, 4), ...rng.bytes(28)]));
    const oracle = new ClosestOracle(ids);
    for (let i = 0; i < 200; i++) {
      const target = i === 0 ? Uint8Array.from([...ids[0]!.subarray(0, 4), ...rng.bytes(28)]) : rng.bytes(32);
      const best = [...ids].sort((a, b) => compareDistance(target, a, b))[0]!;
      expect(oracle.closest(target)).toBe(best);
      const second = [...ids].sort((a, b) => compareDistance(target, a, b))[1]!;
      expect(ids[oracle.closestIndex(target, ids.indexOf(best))]).toBe(second);
    }
    expect(new ClosestOracle([]).closestIndex(ids[0]!)).toBe(-1);
  });

  it('summarize gives nearest-rank percentiles', () => {
    const s = summarize(Array.from({ length: 100 }, (_, i) => 100 - i));
    expect(s).toEqual({ p50: 50, p95: 95, max: 100, mean: 50.5 });
    expect(summarize([])).toEqual({ p50: 0, p95: 0, max: 0, mean: 0 });
  });
});
