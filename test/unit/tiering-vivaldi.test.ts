import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import { ConfigError } from '../../src/errors.js';
import { CoordinateBook } from '../../src/tiering/coordinate-book.js';
import {
  COORD_LIMIT_MS,
  estimateRtt,
  initialCoordinate,
  isValidCoordinate,
  MAX_COORD_ERROR,
  MIN_HEIGHT_MS,
  updateCoordinate,
  type Coordinate,
} from '../../src/tiering/vivaldi.js';

/** A synthetic space Vivaldi can embed exactly: points in a plane plus a per-node access height. */
function space(n: number, seed: number): { rtt(a: number, b: number): number } {
  const rng = new SeededRng(seed);
  const pts = Array.from({ length: n }, () => ({ x: rng.next() * 200, y: rng.next() * 200, h: 1 + rng.next() * 9 }));
  return {
    rtt: (a, b) => Math.hypot(pts[a]!.x - pts[b]!.x, pts[a]!.y - pts[b]!.y) + pts[a]!.h + pts[b]!.h,
  };
}

/** Each round every node measures one random other node and updates. */
function run(coords: Coordinate[], rtt: (a: number, b: number) => number, rounds: number, rng: SeededRng): void {
  const n = coords.length;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) {
      let j = rng.int(n - 1);
      if (j >= i) j++;
      coords[i] = updateCoordinate(coords[i]!, coords[j]!, rtt(i, j), () => rng.next());
    }
  }
}

function medianRelativeError(coords: Coordinate[], rtt: (a: number, b: number) => number): number {
  const errs: number[] = [];
  for (let i = 0; i < coords.length; i++) {
    for (let j = i + 1; j < coords.length; j++) errs.push(Math.abs(estimateRtt(coords[i]!, coords[j]!) - rtt(i, j)) / rtt(i, j));
  }
  errs.sort((a, b) => a - b);
  return errs[errs.length >> 1]!;
}

describe('Vivaldi coordinates', () => {
  it('a fresh coordinate sits at the origin with the largest error', () => {
    const c = initialCoordinate();
    expect(c).toEqual({ x: 0, y: 0, height: MIN_HEIGHT_MS, error: MAX_COORD_ERROR });
    expect(isValidCoordinate(c)).toBe(true);
    expect(estimateRtt(c, c)).toBeCloseTo(2 * MIN_HEIGHT_MS);
  });

  it('converges on a synthetic metric space (seeded): median relative error below 10% after 200 rounds', () => {
    const n = 50;
    const { rtt } = space(n, 11);
    const rng = new SeededRng(12);
    const coords = Array.from({ length: n }, initialCoordinate);
    const before = medianRelativeError(coords, rtt);
    run(coords, rtt, 200, rng);
    const after = medianRelativeError(coords, rtt);
    expect(before).toBeGreaterThan(0.9);
    expect(after).toBeLessThan(0.1);
    // The local error estimates came down with it.
    const errors = coords.map((c) => c.error).sort((a, b) => a - b);
    expect(errors[n >> 1]!).toBeLessThan(0.2);
  });

  it('is pure and deterministic: same inputs, same output; inputs untouched', () => {
    const a: Coordinate = { x: 1, y: 2, height: 3, error: 0.5 };
    const b: Coordinate = { x: 40, y: -5, height: 2, error: 0.3 };
    const copyA = { ...a };
    const r1 = updateCoordinate(a, b, 80, () => 0.25);
    const r2 = updateCoordinate(a, b, 80, () => 0.25);
    expect(r1).toEqual(r2);
    expect(a).toEqual(copyA);
    // Measured farther than predicted: we move away from b.
    expect(estimateRtt(r1, b)).toBeGreaterThan(estimateRtt(a, b));
    // Measured closer than predicted: we move towards b.
    expect(estimateRtt(updateCoordinate(a, b, 10, () => 0.25), b)).toBeLessThan(estimateRtt(a, b));
  });

  it('ignores unusable samples: invalid remote coordinates and RTTs leave us unchanged', () => {
    const self: Coordinate = { x: 10, y: 10, height: 2, error: 0.4 };
    const liars: Coordinate[] = [
      { x: NaN, y: 0, height: 1, error: 0.1 },
      { x: 0, y: Infinity, height: 1, error: 0.1 },
      { x: 2 * COORD_LIMIT_MS, y: 0, height: 1, error: 0.1 },
      { x: 0, y: 0, height: -5, error: 0.1 },
      { x: 0, y: 0, height: 1, error: -1 },
      { x: 0, y: 0, height: 1, error: MAX_COORD_ERROR + 1 },
      null as unknown as Coordinate,
      { x: '1', y: 0, height: 1, error: 0.1 } as unknown as Coordinate,
    ];
    for (const liar of liars) {
      expect(isValidCoordinate(liar)).toBe(false);
      expect(updateCoordinate(self, liar, 50, () => 0.5)).toBe(self);
    }
    const honest: Coordinate = { x: 30, y: 10, height: 2, error: 0.4 };
    for (const rtt of [0, -3, NaN, Infinity, 1e9]) expect(updateCoordinate(self, honest, rtt, () => 0.5)).toBe(self);
  });

  it('bounds what an in-range liar can do: one sample moves us by at most its RTT, honest samples recover', () => {
    const n = 30;
    const { rtt } = space(n, 21);
    const rng = new SeededRng(22);
    const coords = Array.from({ length: n }, initialCoordinate);
    run(coords, rtt, 200, rng);
    const converged = medianRelativeError(coords, rtt);
    expect(converged).toBeLessThan(0.1);
    // Node 0 hears 20 times from a liar claiming to sit at the edge of the space with zero error.
    const liar: Coordinate = { x: COORD_LIMIT_MS, y: -COORD_LIMIT_MS, height: COORD_LIMIT_MS, error: 0 };
    for (let i = 0; i < 20; i++) {
      const before = coords[0]!;
      const after = updateCoordinate(before, liar, 50, () => rng.next());
      const moved = Math.hypot(after.x - before.x, after.y - before.y) + Math.abs(after.height - before.height);
      expect(moved).toBeLessThanOrEqual(50 + 1e-9);
      expect(isValidCoordinate(after)).toBe(true);
      coords[0] = after;
    }
    // Its own error estimate noticed.
    expect(coords[0]!.error).toBeGreaterThan(0.3);
    run(coords, rtt, 100, rng);
    expect(medianRelativeError(coords, rtt)).toBeLessThan(0.1);
  });

  it('stays within the wire bounds however far the samples push', () => {
    let c = initialCoordinate();
    const far: Coordinate = { x: -COORD_LIMIT_MS, y: 0, height: 0, error: MAX_COORD_ERROR };
    for (let i = 0; i < 200; i++) c = updateCoordinate(c, far, 9_999, () => 0.5);
    expect(isValidCoordinate(c)).toBe(true);
  });
});

describe('CoordinateBook', () => {
  const id = (b: number, tail = 0): Uint8Array => {
    const out = new Uint8Array(32).fill(b);
    out[31] = tail;
    return out;
  };
  const c = (x: number): Coordinate => ({ x, y: 0, height: 1, error: 0.5 });

  it('a first-hand report wins over a relayed one; a relayed one fills a gap', () => {
    const book = new CoordinateBook(10);
    expect(book.relayed(id(1), c(5))).toBe(true);
    expect(book.get(id(1))).toEqual(c(5));
    expect(book.reported(id(1), c(7))).toBe(true);
    expect(book.relayed(id(1), c(9))).toBe(false);
    expect(book.get(id(1))).toEqual(c(7));
    expect(book.reported(id(1), c(8))).toBe(true);
    expect(book.get(id(1))).toEqual(c(8));
  });

  it('refuses invalid coordinates and keeps ids sharing a key prefix apart', () => {
    const book = new CoordinateBook(10);
    expect(book.reported(id(2), { ...c(1), x: NaN })).toBe(false);
    expect(book.relayed(id(2), { ...c(1), error: 9 })).toBe(false);
    expect(book.get(id(2))).toBeUndefined();
    book.reported(id(3, 1), c(1));
    expect(book.get(id(3, 2))).toBeUndefined(); // same first bytes, different id
    book.reported(id(3, 2), c(2));
    expect(book.get(id(3, 2))).toEqual(c(2));
    expect(book.get(id(3, 1))).toBeUndefined(); // replaced, never misread
    expect(book.forget(id(3, 1))).toBe(false);
    expect(book.forget(id(3, 2))).toBe(true);
  });

  it('is bounded: the oldest entry goes first', () => {
    const book = new CoordinateBook(3);
    for (let i = 1; i <= 5; i++) book.reported(id(i), c(i));
    expect(book.size).toBe(3);
    expect(book.get(id(1))).toBeUndefined();
    expect(book.get(id(2))).toBeUndefined();
    expect(book.get(id(5))).toEqual(c(5));
    expect(() => new CoordinateBook(0)).toThrow(ConfigError);
  });
});
