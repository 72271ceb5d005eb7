import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import {
  bitAt,
  bucketIndex,
  commonPrefixLength,
  compareDistance,
  randomIdInBucket,
  xorDistance,
} from '../../src/dht/distance.js';
import { ConfigError } from '../../src/errors.js';

const SEED = 0x5eed;
const id = fc.uint8Array({ minLength: 32, maxLength: 32 });

/** Distance as a bigint, to check the byte-wise helpers against plain arithmetic. */
function big(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

describe('xor distance', () => {
  it('is symmetric, zero exactly on identity, and matches bigint xor', () => {
    fc.assert(
      fc.property(id, id, (a, b) => {
        expect(xorDistance(a, b)).toEqual(xorDistance(b, a));
        expect(big(xorDistance(a, b))).toBe(big(a) ^ big(b));
        expect(big(xorDistance(a, a))).toBe(0n);
        expect(big(xorDistance(a, b)) === 0n).toBe(big(a) === big(b));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('satisfies the triangle inequality (xor is a metric)', () => {
    fc.assert(
      fc.property(id, id, id, (a, b, c) => {
        expect(big(xorDistance(a, c)) <= big(xorDistance(a, b)) + big(xorDistance(b, c))).toBe(true);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('compareDistance orders exactly like the bigint distances', () => {
    fc.assert(
      fc.property(id, id, id, (t, a, b) => {
        const da = big(t) ^ big(a);
        const db = big(t) ^ big(b);
        expect(Math.sign(compareDistance(t, a, b))).toBe(da < db ? -1 : da > db ? 1 : 0);
        expect(Math.sign(compareDistance(t, b, a))).toBe(-Math.sign(compareDistance(t, a, b)) || 0);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('unidirectionality: for a target and distance there is exactly one id (no ties between distinct ids)', () => {
    fc.assert(
      fc.property(id, id, id, (t, a, b) => {
        fc.pre(big(a) !== big(b));
        expect(compareDistance(t, a, b)).not.toBe(0);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('rejects ids of different lengths', () => {
    expect(() => xorDistance(new Uint8Array(32), new Uint8Array(31))).toThrow(ConfigError);
  });
});

describe('bucketIndex', () => {
  it('is the position of the highest set bit of the distance (255 - common prefix)', () => {
    fc.assert(
      fc.property(id, id, (a, b) => {
        const d = big(a) ^ big(b);
        const expected = d === 0n ? -1 : d.toString(2).length - 1;
        expect(bucketIndex(a, b)).toBe(expected);
        expect(commonPrefixLength(a, b)).toBe(255 - expected);
        expect(bucketIndex(b, a)).toBe(expected);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('puts every contact of bucket i at distance in [2^i, 2^(i+1))', () => {
    fc.assert(
      fc.property(id, id, (a, b) => {
        const i = bucketIndex(a, b);
        fc.pre(i >= 0);
        const d = big(a) ^ big(b);
        expect(d >= 1n << BigInt(i) && d < 1n << BigInt(i + 1)).toBe(true);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('randomIdInBucket', () => {
  it('always lands in the requested bucket and keeps the higher bits', () => {
    const rng = new SeededRng(7);
    fc.assert(
      fc.property(id, fc.integer({ min: 0, max: 255 }), (self, i) => {
        const r = randomIdInBucket(self, i, rng);
        expect(bucketIndex(self, r)).toBe(i);
        expect(bitAt(r, i)).toBe(1 - bitAt(self, i));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('varies the bits below the pivot', () => {
    const rng = new SeededRng(1);
    const self = new Uint8Array(32);
    const a = randomIdInBucket(self, 200, rng);
    const b = randomIdInBucket(self, 200, rng);
    expect(a).not.toEqual(b);
  });

  it('rejects an index outside 0..255', () => {
    const rng = new SeededRng(1);
    expect(() => randomIdInBucket(new Uint8Array(32), 256, rng)).toThrow(ConfigError);
    expect(() => randomIdInBucket(new Uint8Array(32), -1, rng)).toThrow(/bucket index/);
  });
});
