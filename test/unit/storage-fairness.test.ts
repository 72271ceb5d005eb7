/**
 * The eviction policy's guarantee: an abuser, or a swarm of Sybil identities, hammering the store
 * cannot evict an honest peer's entries. With M peers holding data, a peer whose dominant share σ
 * satisfies M·σ + δ ≤ threshold is never evicted (see src/storage/protected-store.ts for the proof).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import { hashContent } from '../../src/identity/node-id.js';
import { ProtectedStore } from '../../src/storage/protected-store.js';

function honestValue(peer: number, i: number): Uint8Array {
  return new TextEncoder().encode(`honest ${peer} value ${i}`);
}

describe('ProtectedStore fairness', () => {
  it('a single abuser with a loose quota fills the store but cannot evict an honest peer', () => {
    const clock = new ManualClock();
    const store = new ProtectedStore(
      {
        maxEntries: 200,
        perPeerEntryLimit: 10_000,
        perPeerQuotaBytes: 10_000_000,
        perPeerRatePerMinute: 100_000,
      },
      clock,
    );
    const rng = new SeededRng(1);
    const honest = rng.bytes(32);
    const abuser = rng.bytes(32);
    const honestKeys: Uint8Array[] = [];
    for (let i = 0; i < 10; i++) {
      const v = honestValue(0, i);
      honestKeys.push(hashContent(v));
      expect(store.put(honest, hashContent(v), v, { verifyContent: true })).toBeNull();
    }
    const results = new Map<string, number>();
    for (let i = 0; i < 1_000; i++) {
      const r = store.put(abuser, rng.bytes(32), rng.bytes(32), { verifyContent: false }) ?? 'ok';
      results.set(r, (results.get(r) ?? 0) + 1);
      // The abuser also reads its own data to make it "popular".
      if (i % 3 === 0) store.get(rng.bytes(32));
    }
    expect(results.get('ok')).toBe(190); // up to the hard limit, the rest refused
    expect(results.get('Pressure')).toBe(810);
    expect(honestKeys.every((k) => store.has(k))).toBe(true);

    // The honest peer can still store while the store is full: the abuser pays for the room,
    // down to the 75 % threshold.
    const v = honestValue(0, 99);
    expect(store.put(honest, hashContent(v), v, { verifyContent: true })).toBeNull();
    expect(store.size).toBe(150);
    expect(store.peerUsage(honest).entries).toBe(11);
    expect(store.peerUsage(abuser).entries).toBe(139);
  });

  it('a Sybil swarm cannot evict honest entries held within the fair-share bound (seeded property)', () => {
    const scenario = fc
      .record({
        sybils: fc.integer({ min: 1, max: 40 }),
        honest: fc.integer({ min: 1, max: 3 }),
        maxEntries: fc.integer({ min: 80, max: 400 }),
        threshold: fc.constantFrom(0.5, 0.75, 0.9),
        seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      })
      .chain((s) =>
        fc.record({
          s: fc.constant(s),
          actions: fc.array(
            fc.oneof(
              {
                weight: 20,
                arbitrary: fc.record({
                  kind: fc.constant('sybilStore' as const),
                  sybil: fc.nat(s.sybils - 1),
                  size: fc.integer({ min: 1, max: 64 }),
                }),
              },
              {
                weight: 3,
                arbitrary: fc.record({
                  kind: fc.constant('sybilRestore' as const),
                  sybil: fc.nat(s.sybils - 1),
                }),
              },
              {
                weight: 3,
                arbitrary: fc.record({
                  kind: fc.constant('sybilRead' as const),
                  sybil: fc.nat(s.sybils - 1),
                }),
              },
              {
                weight: 2,
                arbitrary: fc.record({
                  kind: fc.constant('sybilCopyHonest' as const),
                  sybil: fc.nat(s.sybils - 1),
                  target: fc.nat(10_000),
                }),
              },
              {
                weight: 1,
                arbitrary: fc.record({
                  kind: fc.constant('sybilForgeHonest' as const),
                  sybil: fc.nat(s.sybils - 1),
                  target: fc.nat(10_000),
                }),
              },
              {
                weight: 2,
                arbitrary: fc.record({ kind: fc.constant('honestRead' as const), target: fc.nat(10_000) }),
              },
              {
                weight: 1,
                arbitrary: fc.record({
                  kind: fc.constant('tick' as const),
                  ms: fc.integer({ min: 1, max: 5_000 }),
                }),
              },
            ),
            { minLength: 300, maxLength: 1_200 },
          ),
        }),
      );

    let attacksThatForcedEviction = 0;
    fc.assert(
      fc.property(scenario, ({ s, actions }) => {
        const M = s.sybils + s.honest;
        // Entries dominate (tiny values, huge maxBytes), so δ = 1 / maxEntries and the bound is
        // M·u + 1 ≤ threshold·maxEntries for an honest peer holding u entries.
        const perHonest = Math.floor((s.threshold * s.maxEntries - 1) / M);
        fc.pre(perHonest >= 1);
        const clock = new ManualClock();
        const store = new ProtectedStore(
          {
            maxEntries: s.maxEntries,
            maxBytes: 1 << 30,
            maxValueSize: 64,
            pressureThreshold: s.threshold,
            perPeerEntryLimit: s.maxEntries, // the weakest quota: one identity could fill the store
            perPeerQuotaBytes: 1 << 30,
            perPeerRatePerMinute: 200,
          },
          clock,
        );
        const rng = new SeededRng(s.seed);
        const sybilIds = Array.from({ length: s.sybils }, () => rng.bytes(32));
        const sybilKeys: Uint8Array[][] = sybilIds.map(() => []);
        const honestIds = Array.from({ length: s.honest }, () => rng.bytes(32));
        const honestData: { key: Uint8Array; value: Uint8Array }[] = [];
        // Honest peers store their entries spread through the attack, not only up front.
        const honestPlan: number[] = [];
        for (let h = 0; h < s.honest; h++) for (let i = 0; i < perHonest; i++) honestPlan.push(h);
        let planned = 0;
        const storeHonest = () => {
          const h = honestPlan[planned]!;
          const value = honestValue(h, planned++);
          const key = hashContent(value);
          expect(store.put(honestIds[h]!, key, value, { verifyContent: true })).toBeNull();
          honestData.push({ key, value });
        };
        const every = Math.max(1, Math.floor(actions.length / (honestPlan.length + 1)));

        actions.forEach((a, step) => {
          if (planned < honestPlan.length && step % every === 0) storeHonest();
          const pickHonest = (n: number) => honestData[n % Math.max(1, honestData.length)];
          switch (a.kind) {
            case 'sybilStore': {
              const key = rng.bytes(32);
              if (store.put(sybilIds[a.sybil]!, key, rng.bytes(a.size), { verifyContent: false }) === null)
                sybilKeys[a.sybil]!.push(key);
              break;
            }
            case 'sybilRestore': {
              const keys = sybilKeys[a.sybil]!;
              if (keys.length > 0)
                store.put(sybilIds[a.sybil]!, keys[rng.int(keys.length)]!, rng.bytes(8), {
                  verifyContent: false,
                });
              break;
            }
            case 'sybilRead': {
              const keys = sybilKeys[a.sybil]!;
              for (let i = 0; i < 5 && keys.length > 0; i++) store.get(keys[rng.int(keys.length)]!);
              break;
            }
            case 'sybilCopyHonest': {
              // Re-storing identical honest data must not move its charge to the Sybil.
              const d = pickHonest(a.target);
              if (d)
                expect(store.put(sybilIds[a.sybil]!, d.key, d.value, { verifyContent: true })).toBeOneOf([
                  null,
                  'RateLimited',
                ]);
              break;
            }
            case 'sybilForgeHonest': {
              const d = pickHonest(a.target);
              if (d)
                expect(
                  store.put(sybilIds[a.sybil]!, d.key, rng.bytes(16), { verifyContent: true }),
                ).toBeOneOf(['InvalidKey', 'RateLimited']);
              break;
            }
            case 'honestRead': {
              const d = pickHonest(a.target);
              if (d) expect(store.get(d.key)).toEqual(d.value);
              break;
            }
            case 'tick':
              clock.advance(a.ms);
              break;
          }
        });
        while (planned < honestPlan.length) storeHonest();
        // Then the swarm keeps hammering until everyone of them has tried to fill the store.
        for (let round = 0; round < 3; round++) {
          clock.advance(60_000);
          for (let i = 0; i < s.sybils; i++) {
            for (let j = 0; j < Math.ceil(s.maxEntries / s.sybils) + 1; j++) {
              store.put(sybilIds[i]!, rng.bytes(32), rng.bytes(4), { verifyContent: false });
            }
          }
        }

        for (const d of honestData) expect(store.get(d.key)).toEqual(d.value);
        for (let h = 0; h < s.honest; h++) expect(store.peerUsage(honestIds[h]!).entries).toBe(perHonest);
        expect(store.size).toBeLessThanOrEqual(s.maxEntries);
        if (store.stats().evictions > 0) attacksThatForcedEviction++;
      }),
      { seed: 20_240_601, numRuns: 60 },
    );
    // The attack was real: in most runs the swarm pushed the store into eviction.
    expect(attacksThatForcedEviction).toBeGreaterThan(30);
  });
});
