import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { toHex } from '../../src/core/bytes.js';
import { SeededRng } from '../../src/core/rng.js';
import { DEFAULT_TTL_MS, MAX_VALUE_SIZE, PER_PEER_RATE_LIMIT } from '../../src/constants.js';
import { ConfigError } from '../../src/errors.js';
import { hashContent } from '../../src/identity/node-id.js';
import { ProtectedStore, type StorageLimits } from '../../src/storage/protected-store.js';
import { StoreRateBucket } from '../../src/storage/rate.js';
import fc from 'fast-check';

const rng = new SeededRng(7);
const peerA = rng.bytes(32);
const peerB = rng.bytes(32);
const content = (text: string) => new TextEncoder().encode(text);
const randomKey = () => rng.bytes(32);

function setup(limits?: Partial<StorageLimits>) {
  const clock = new ManualClock(1_000_000);
  return { clock, store: new ProtectedStore(limits, clock) };
}

describe('ProtectedStore basics', () => {
  it('stores content-addressed values and reads them back (as a private copy)', () => {
    const { store } = setup();
    const value = content('hello mesh');
    const key = hashContent(value);
    expect(store.put(peerA, key, value, { verifyContent: true })).toBeNull();
    value[0] = 0; // mutating the caller's buffer must not change the stored value
    expect(new TextDecoder().decode(store.get(key))).toBe('hello mesh');
    expect(store.has(key)).toBe(true);
    expect(store.size).toBe(1);
    expect(store.peerUsage(peerA)).toMatchObject({ bytes: 10, entries: 1 });
    expect(store.delete(key)).toBe(true);
    expect(store.delete(key)).toBe(false);
    expect(store.get(key)).toBeUndefined();
    expect(store.peerUsage(peerA)).toMatchObject({ bytes: 0, entries: 0 });
  });

  it('uses the spec defaults', () => {
    const { store } = setup();
    expect(store.limits).toMatchObject({
      maxValueSize: 64 * 1024,
      perPeerQuotaBytes: 1024 * 1024,
      perPeerEntryLimit: 100,
      perPeerRatePerMinute: 20,
      maxEntries: 100_000,
      ttlMs: 24 * 3_600_000,
      pressureThreshold: 0.75,
      expirationCheckIntervalMs: 60_000,
    });
  });

  it('rejects bad options with a ConfigError naming the field', () => {
    const clock = new ManualClock();
    expect(() => new ProtectedStore({ maxEntries: -1 }, clock)).toThrow(/maxEntries/);
    expect(() => new ProtectedStore({ maxEntries: 1.5 }, clock)).toThrow(ConfigError);
    expect(() => new ProtectedStore({ pressureThreshold: 1.5 }, clock)).toThrow(/pressureThreshold/);
    expect(() => new ProtectedStore({ ttlMs: Number.NaN }, clock)).toThrow(/ttlMs/);
    expect(() => new ProtectedStore({ bogus: 1 } as Partial<StorageLimits>, clock)).toThrow(
      /unknown option 'bogus'/,
    );
  });
});

describe('ProtectedStore rejections', () => {
  it('ValueTooLarge above maxValueSize (the limit itself is accepted)', () => {
    const { store } = setup();
    expect(
      store.put(peerA, randomKey(), new Uint8Array(MAX_VALUE_SIZE), { verifyContent: false }),
    ).toBeNull();
    expect(store.put(peerA, randomKey(), new Uint8Array(MAX_VALUE_SIZE + 1), { verifyContent: false })).toBe(
      'ValueTooLarge',
    );
    expect(store.stats().rejections.ValueTooLarge).toBe(1);
  });

  it('InvalidKey when the key is not BLAKE3(value) or not 32 bytes', () => {
    const { store } = setup();
    const value = content('data');
    expect(store.put(peerA, randomKey(), value, { verifyContent: true })).toBe('InvalidKey');
    expect(store.put(peerA, new Uint8Array(31), value, { verifyContent: false })).toBe('InvalidKey');
    // Without verification (e.g. a signed record the DHT checked itself) any 32-byte key is fine.
    expect(store.put(peerA, randomKey(), value, { verifyContent: false })).toBeNull();
    expect(store.stats().rejections.InvalidKey).toBe(2);
  });

  it('QuotaExceeded by bytes, per peer', () => {
    const { store } = setup({ perPeerQuotaBytes: 100 });
    const k1 = randomKey();
    expect(store.put(peerA, k1, new Uint8Array(40), { verifyContent: false })).toBeNull();
    expect(store.put(peerA, randomKey(), new Uint8Array(40), { verifyContent: false })).toBeNull();
    expect(store.put(peerA, randomKey(), new Uint8Array(40), { verifyContent: false })).toBe('QuotaExceeded');
    // Another peer has its own quota.
    expect(store.put(peerB, randomKey(), new Uint8Array(100), { verifyContent: false })).toBeNull();
    // Re-storing a key replaces it: only the difference counts.
    expect(store.put(peerA, k1, new Uint8Array(60), { verifyContent: false })).toBeNull();
    expect(store.peerUsage(peerA)).toMatchObject({ bytes: 100, entries: 2 });
    expect(store.put(peerA, k1, new Uint8Array(61), { verifyContent: false })).toBe('QuotaExceeded');
    expect(store.put(peerA, k1, new Uint8Array(10), { verifyContent: false })).toBeNull();
    expect(store.peerUsage(peerA)).toMatchObject({ bytes: 50, entries: 2 });
    expect(store.bytes).toBe(150);
  });

  it('QuotaExceeded by entries, per peer; deleting frees the slot', () => {
    const { store } = setup({ perPeerEntryLimit: 3 });
    const keys = [randomKey(), randomKey(), randomKey()];
    for (const k of keys) expect(store.put(peerA, k, new Uint8Array(1), { verifyContent: false })).toBeNull();
    expect(store.put(peerA, randomKey(), new Uint8Array(1), { verifyContent: false })).toBe('QuotaExceeded');
    expect(store.put(peerA, keys[0]!, new Uint8Array(2), { verifyContent: false })).toBeNull(); // replace is fine
    store.delete(keys[1]!);
    expect(store.put(peerA, randomKey(), new Uint8Array(1), { verifyContent: false })).toBeNull();
    expect(store.stats().rejections.QuotaExceeded).toBe(1);
  });

  it('RateLimited after the burst; a refused attempt does not extend the refusal (a retrying peer gets the pace)', () => {
    const { clock, store } = setup();
    const put = (peer: Uint8Array) =>
      store.put(peer, randomKey(), new Uint8Array(1), { verifyContent: false });
    for (let i = 0; i < PER_PEER_RATE_LIMIT; i++) expect(put(peerA)).toBeNull();
    expect(put(peerA)).toBe('RateLimited');
    expect(put(peerB)).toBeNull(); // other peers are not affected
    // A peer retrying once a second is served at the limit's pace: one store every 3 s, 20 a minute.
    let accepted = 0;
    for (let s = 0; s < 180; s++) {
      clock.advance(1_000);
      if (put(peerA) === null) accepted++;
    }
    expect(accepted).toBe(3 * PER_PEER_RATE_LIMIT);
    // After a quiet minute it may store a whole burst again, and no more.
    clock.advance(60_000);
    for (let i = 0; i < PER_PEER_RATE_LIMIT; i++) expect(put(peerA)).toBeNull();
    expect(put(peerA)).toBe('RateLimited');
    expect(store.stats().rejections.RateLimited).toBe(2 + 180 - 60);
  });

  it('a peer storing at 10x or 100x the limit for 10 minutes is cut off; honest data stays', () => {
    for (const factor of [10, 100]) {
      const { clock, store } = setup();
      const honest = Array.from({ length: 20 }, () => rng.bytes(64));
      for (const v of honest) expect(store.put(peerB, hashContent(v), v, { verifyContent: true })).toBeNull();
      const gap = 60_000 / (PER_PEER_RATE_LIMIT * factor);
      let attempts = 0;
      let accepted = 0;
      for (let t = 0; t < 10 * 60_000; t += gap) {
        clock.advance(gap);
        attempts++;
        if (store.put(peerA, randomKey(), new Uint8Array(512), { verifyContent: false }) === null) accepted++;
      }
      // Burst + pace, capped by the entry quota.
      expect(accepted).toBe(Math.min(100, PER_PEER_RATE_LIMIT * 11));
      if (factor === 100) expect(1 - accepted / attempts).toBeGreaterThanOrEqual(0.99);
      for (const v of honest) expect(store.get(hashContent(v))).toEqual(v);
    }
  });

  it('a burst allowance of its own: perPeerBurst stores at once, then perPeerRatePerMinute', () => {
    const { clock, store } = setup({ perPeerRatePerMinute: 6, perPeerBurst: 3 });
    const put = () => store.put(peerA, randomKey(), new Uint8Array(1), { verifyContent: false });
    for (let i = 0; i < 3; i++) expect(put()).toBeNull();
    expect(put()).toBe('RateLimited');
    clock.advance(9_999);
    expect(put()).toBe('RateLimited');
    clock.advance(1);
    expect(put()).toBeNull(); // one token every 10 s
    expect(put()).toBe('RateLimited');
  });

  it('checks the rate before anything else (a flood costs no hashing)', () => {
    const { store } = setup({ perPeerRatePerMinute: 1 });
    expect(store.put(peerA, randomKey(), new Uint8Array(1), { verifyContent: false })).toBeNull();
    expect(store.put(peerA, randomKey(), new Uint8Array(MAX_VALUE_SIZE + 1), { verifyContent: true })).toBe(
      'RateLimited',
    );
  });

  it('trusted (own) stores skip the rate limit and quota', () => {
    const { store } = setup({ perPeerRatePerMinute: 2, perPeerEntryLimit: 2 });
    for (let i = 0; i < 10; i++) {
      expect(
        store.put(peerA, randomKey(), new Uint8Array(1), { verifyContent: false, trusted: true }),
      ).toBeNull();
    }
    expect(store.peerUsage(peerA).entries).toBe(10);
  });
});

describe('ProtectedStore TTL', () => {
  it('hides expired entries at once, removes them on sweep and frees their quota', () => {
    const { clock, store } = setup({ perPeerEntryLimit: 2 });
    const k1 = randomKey();
    const k2 = randomKey();
    store.put(peerA, k1, new Uint8Array(5), { verifyContent: false });
    clock.advance(1_000);
    store.put(peerA, k2, new Uint8Array(5), { verifyContent: false });
    clock.advance(DEFAULT_TTL_MS - 1_001);
    expect(store.has(k1)).toBe(true);
    clock.advance(1);
    expect(store.has(k1)).toBe(false);
    expect(store.has(k2)).toBe(true);
    expect([...store.entries()].map((e) => toHex(e.key))).toEqual([toHex(k2)]);
    expect(store.sweepExpired()).toBe(0); // has() already dropped k1 lazily
    clock.advance(1_000);
    expect(store.size).toBe(1); // k2 expired but not yet swept
    expect(store.get(k2)).toBeUndefined();
    expect(store.stats().expired).toBe(2);
    expect(store.peerUsage(peerA)).toMatchObject({ entries: 0, bytes: 0 });
  });

  it('sweepExpired removes everything past its TTL in one pass', () => {
    const { clock, store } = setup({ ttlMs: 10_000, perPeerRatePerMinute: 1_000 });
    for (let i = 0; i < 50; i++) {
      store.put(peerA, randomKey(), new Uint8Array(1), { verifyContent: false });
      clock.advance(100);
    }
    clock.advance(10_000 - 50 * 100 + 2_450); // the first 25 entries (stored at 0..2400 ms) are now expired
    expect(store.sweepExpired()).toBe(25);
    expect(store.size).toBe(25);
    expect(store.stats()).toMatchObject({ entries: 25, bytes: 25, expired: 25 });
  });

  it('re-storing refreshes the TTL; an identical republish by another peer refreshes without charging it', () => {
    const { clock, store } = setup();
    const value = content('record');
    const key = hashContent(value);
    store.put(peerA, key, value, { verifyContent: true });
    clock.advance(DEFAULT_TTL_MS - 1);
    expect(store.put(peerB, key, value, { verifyContent: true })).toBeNull();
    expect(store.peerUsage(peerB).entries).toBe(0);
    expect(store.peerUsage(peerA).entries).toBe(1);
    clock.advance(DEFAULT_TTL_MS - 1);
    expect(store.has(key)).toBe(true);
    store.put(peerA, key, value, { verifyContent: true });
    clock.advance(DEFAULT_TTL_MS - 1);
    expect(store.has(key)).toBe(true);
    clock.advance(1);
    expect(store.has(key)).toBe(false);
  });

  it('a different value under the same key from another peer moves the charge to it', () => {
    const { store } = setup();
    const key = randomKey();
    store.put(peerA, key, new Uint8Array(10), { verifyContent: false });
    expect(store.put(peerB, key, new Uint8Array(30).fill(1), { verifyContent: false })).toBeNull();
    expect(store.peerUsage(peerA)).toMatchObject({ bytes: 0, entries: 0 });
    expect(store.peerUsage(peerB)).toMatchObject({ bytes: 30, entries: 1 });
    expect(store.get(key)?.[0]).toBe(1);
    expect(store.stats()).toMatchObject({ entries: 1, bytes: 30, perPeer: 1 });
  });
});

describe('ProtectedStore pressure and eviction', () => {
  const limits: Partial<StorageLimits> = {
    maxEntries: 20,
    maxBytes: 1_000,
    maxValueSize: 100,
    perPeerEntryLimit: 1_000,
    perPeerQuotaBytes: 1_000,
    perPeerRatePerMinute: 1_000,
  };

  it('computes pressure as the max of bytes, entries and request rate', () => {
    const { clock, store } = setup({ ...limits, maxRequestsPerSecond: 10 });
    expect(store.pressure()).toBe(0);
    for (let i = 0; i < 5; i++) store.put(peerA, randomKey(), new Uint8Array(10), { verifyContent: false });
    clock.advance(20_000); // let the request-rate term decay
    expect(store.storagePressure()).toBeCloseTo(5 / 20); // entries dominate (bytes 50/1000)
    expect(store.pressure()).toBeCloseTo(0.25);
    for (let i = 0; i < 5; i++) store.put(peerA, randomKey(), new Uint8Array(100), { verifyContent: false });
    clock.advance(20_000);
    expect(store.pressure()).toBeCloseTo(550 / 1000); // now bytes dominate (entries: 10/20)
    // Request rate: 80 requests inside one 10 s window = 8/s of a 10/s budget.
    for (let i = 0; i < 80; i++) store.get(randomKey());
    expect(store.requestRate()).toBeCloseTo(8);
    expect(store.pressure()).toBeCloseTo(0.8);
    clock.advance(30_000);
    expect(store.requestRate()).toBe(0);
  });

  it('fills to the hard limit when only one peer stores, then refuses with Pressure', () => {
    const { store } = setup(limits);
    for (let i = 0; i < 20; i++)
      expect(store.put(peerA, randomKey(), new Uint8Array(1), { verifyContent: false })).toBeNull();
    expect(store.put(peerA, randomKey(), new Uint8Array(1), { verifyContent: false })).toBe('Pressure');
    expect(store.stats()).toMatchObject({ entries: 20, evictions: 0 });
    expect(store.stats().rejections.Pressure).toBe(1);
    expect(store.pressure()).toBe(1);
  });

  it('evicts the largest holder until below the threshold, and popular entries survive', () => {
    const { store } = setup(limits);
    const keys = Array.from({ length: 20 }, randomKey);
    for (let i = 0; i < 10; i++) store.put(peerA, keys[i]!, new Uint8Array(1), { verifyContent: false });
    // Keys 0..4 are read often, then ten newer keys arrive and are never read.
    for (let r = 0; r < 8; r++) for (let i = 0; i < 5; i++) store.get(keys[i]!);
    for (let i = 10; i < 20; i++) store.put(peerA, keys[i]!, new Uint8Array(1), { verifyContent: false });
    expect(store.size).toBe(20);

    // A second peer stores: A (20 entries) holds far more than B will (1), so A is evicted
    // down to the 75 % threshold: 15 entries after B's store.
    expect(store.put(peerB, randomKey(), new Uint8Array(1), { verifyContent: false })).toBeNull();
    expect(store.stats()).toMatchObject({ entries: 15, evictions: 6 });
    expect(store.storagePressure()).toBeLessThanOrEqual(0.75);
    const alive = keys.map((k) => store.has(k));
    // Unread keys 5..9 went first; the popular 0..4 got a second chance, so the oldest unread
    // newer key (10) went instead even though it was stored after their last read.
    expect(alive.slice(0, 5)).toEqual([true, true, true, true, true]);
    expect(alive.slice(5, 11)).toEqual([false, false, false, false, false, false]);
    expect(alive.slice(11)).toEqual(Array(9).fill(true));
  });

  it('evicts by bytes too when bytes dominate', () => {
    const { store } = setup(limits);
    for (let i = 0; i < 10; i++) store.put(peerA, randomKey(), new Uint8Array(100), { verifyContent: false });
    expect(store.bytes).toBe(1_000);
    expect(store.put(peerB, randomKey(), new Uint8Array(50), { verifyContent: false })).toBeNull();
    expect(store.bytes).toBe(750); // 7 of A's values + B's 50 bytes ≤ 750
    expect(store.peerUsage(peerA).entries).toBe(7);
  });

  it('sweeps expired entries before evicting live ones', () => {
    const { clock, store } = setup({ ...limits, ttlMs: 1_000 });
    for (let i = 0; i < 20; i++) store.put(peerA, randomKey(), new Uint8Array(1), { verifyContent: false });
    clock.advance(1_000);
    expect(store.put(peerB, randomKey(), new Uint8Array(1), { verifyContent: false })).toBeNull();
    expect(store.stats()).toMatchObject({ entries: 1, evictions: 0, expired: 20 });
  });

  it('stats count peers holding data and rejections by reason', () => {
    const { store } = setup({ perPeerEntryLimit: 1 });
    store.put(peerA, randomKey(), new Uint8Array(1), { verifyContent: false });
    store.put(peerA, randomKey(), new Uint8Array(1), { verifyContent: false });
    store.put(peerB, randomKey(), content('x'), { verifyContent: true });
    expect(store.stats()).toMatchObject({
      entries: 1,
      bytes: 1,
      perPeer: 1,
      rejections: { QuotaExceeded: 1, InvalidKey: 1, RateLimited: 0, ValueTooLarge: 0, Pressure: 0 },
    });
  });
});

describe('StoreRateBucket', () => {
  const limits = fc.record({ perWindow: fc.integer({ min: 1, max: 50 }), burst: fc.integer({ min: 1, max: 50 }) });
  const gaps = fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 300 });
  const run = (b: StoreRateBucket, times: number[]) => times.map((t) => b.tryAcquire(t));
  const timesOf = (g: number[]) => g.reduce<number[]>((acc, d) => [...acc, (acc.at(-1) ?? 0) + d], []);

  it('never accepts more than burst + the pace in any interval (flood bound)', () => {
    fc.assert(
      fc.property(limits, gaps, ({ perWindow, burst }, g) => {
        const times = timesOf(g);
        const ok = run(new StoreRateBucket(perWindow, 60_000, burst), times);
        const acceptedAt = times.filter((_, i) => ok[i]);
        for (let i = 0; i < acceptedAt.length; i++) {
          for (let j = i; j < acceptedAt.length; j++) {
            const span = acceptedAt[j]! - acceptedAt[i]!;
            expect(j - i + 1).toBeLessThanOrEqual(burst + Math.floor((span * perWindow) / 60_000 + 1e-9));
          }
        }
      }),
      { seed: 17, numRuns: 200 },
    );
  });

  it('refused attempts change nothing: the accepted ones alone are all accepted again', () => {
    fc.assert(
      fc.property(limits, gaps, ({ perWindow, burst }, g) => {
        const times = timesOf(g);
        const ok = run(new StoreRateBucket(perWindow, 60_000, burst), times);
        const again = run(new StoreRateBucket(perWindow, 60_000, burst), times.filter((_, i) => ok[i]));
        expect(again.every(Boolean)).toBe(true);
      }),
      { seed: 18, numRuns: 200 },
    );
  });

  it('reserve books successive slots for concurrent senders', () => {
    const b = new StoreRateBucket(20, 60_000, 2);
    expect([b.reserve(0), b.reserve(0), b.reserve(0), b.reserve(0)]).toEqual([0, 0, 3_000, 6_000]);
    expect(b.idle(6_000)).toBe(false);
    expect(b.idle(12_000)).toBe(true);
  });
});
