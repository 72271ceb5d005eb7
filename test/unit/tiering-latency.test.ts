import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import type { Contact } from '../../src/core/types.js';
import { TIERING_RECOMPUTE_INTERVAL_MS, TIERING_STALE_THRESHOLD_MS } from '../../src/constants.js';
import { ConfigError } from '../../src/errors.js';
import { LatencyTiering, fasterTiersFirst, slowerTiersFirst } from '../../src/tiering/latency-tiering.js';

function setup(options?: ConstructorParameters<typeof LatencyTiering>[0]) {
  const clock = new ManualClock(5_000_000);
  const rng = new SeededRng(99);
  return { clock, rng, tiering: new LatencyTiering(options, clock, rng) };
}

/** Contacts in three regions (~2 ms, ~40 ms, ~250 ms), a few samples each. */
function populate(tiering: LatencyTiering, rng: SeededRng, perRegion = 30) {
  const regions = [2, 40, 250];
  const ids = regions.map(() => [] as Uint8Array[]);
  regions.forEach((base, r) => {
    for (let i = 0; i < perRegion; i++) {
      const id = rng.bytes(32);
      ids[r]!.push(id);
      for (let s = 0; s < 3; s++) tiering.recordRtt(id, base * (0.9 + 0.2 * rng.next()));
    }
  });
  return ids;
}

describe('LatencyTiering', () => {
  it('knows nothing until told, and puts known contacts in tier 0 before the first recompute', () => {
    const { tiering, rng } = setup();
    const id = rng.bytes(32);
    expect(tiering.tierOf(id)).toBeUndefined();
    expect(tiering.rttOf(id)).toBeUndefined();
    tiering.recordRtt(id, 12);
    expect(tiering.tierOf(id)).toBe(0);
    expect(tiering.tierOf(toHex(id))).toBe(0); // hex keys work too
    expect(tiering.tierCount).toBe(0);
    expect(tiering.snapshot()).toEqual({ centroids: [], counts: [] });
  });

  it('clusters contacts into tiers, tier 0 = fastest', () => {
    const { tiering, rng } = setup();
    const ids = populate(tiering, rng);
    tiering.recompute();
    expect(tiering.tierCount).toBe(3);
    ids.forEach((region, r) => region.forEach((id) => expect(tiering.tierOf(id)).toBe(r)));
    const snap = tiering.snapshot();
    expect(snap.counts).toEqual([30, 30, 30]);
    expect(snap.centroids[0]).toBeGreaterThan(1.5);
    expect(snap.centroids[0]).toBeLessThan(2.5);
    expect(snap.centroids[1]).toBeGreaterThan(35);
    expect(snap.centroids[1]).toBeLessThan(45);
    expect(snap.centroids[2]).toBeGreaterThan(220);
    expect(snap.centroids[2]).toBeLessThan(280);
  });

  it('smooths with the median of recent samples: one spike does not move a contact', () => {
    const { tiering, rng } = setup({ maxSamplesPerContact: 5 });
    const id = rng.bytes(32);
    for (const rtt of [10, 11, 900, 10, 12]) tiering.recordRtt(id, rtt);
    expect(tiering.rttOf(id)).toBe(11);
    // Old samples age out of the window of five.
    for (let i = 0; i < 5; i++) tiering.recordRtt(id, 300);
    expect(tiering.rttOf(id)).toBe(300);
    tiering.recordRtt(rng.bytes(32), 4);
    const even = rng.bytes(32);
    tiering.recordRtt(even, 10);
    tiering.recordRtt(even, 20);
    expect(tiering.rttOf(even)).toBe(15);
  });

  it('a contact that becomes slow changes tier against the current centroids', () => {
    const { tiering, rng } = setup({ maxSamplesPerContact: 3 });
    const ids = populate(tiering, rng);
    tiering.recompute();
    const mover = ids[0]![0]!;
    expect(tiering.tierOf(mover)).toBe(0);
    for (let i = 0; i < 3; i++) tiering.recordRtt(mover, 260);
    expect(tiering.tierOf(mover)).toBe(2);
  });

  it('drops contacts not seen within the stale threshold', () => {
    const { tiering, clock, rng } = setup();
    const old = rng.bytes(32);
    const fresh = rng.bytes(32);
    tiering.recordRtt(old, 20);
    clock.advance(TIERING_STALE_THRESHOLD_MS / 2);
    tiering.recordRtt(fresh, 30);
    clock.advance(TIERING_STALE_THRESHOLD_MS / 2);
    expect(tiering.dropStale()).toBe(0); // exactly at the threshold: kept
    clock.advance(1);
    expect(tiering.dropStale()).toBe(1);
    expect(tiering.has(old)).toBe(false);
    expect(tiering.tierOf(old)).toBeUndefined();
    expect(tiering.has(fresh)).toBe(true);
    expect(tiering.size).toBe(1);
    // Slots are reused: new contacts after a drop behave like any other.
    const next = rng.bytes(32);
    tiering.recordRtt(next, 50);
    expect(tiering.rttOf(next)).toBe(50);
    expect(tiering.rttOf(fresh)).toBe(30);
    expect(tiering.forget(fresh)).toBe(true);
    expect(tiering.forget(fresh)).toBe(false);
    expect(tiering.size).toBe(1);
  });

  it('recompute also drops stale contacts, and an empty tiering has no tiers', () => {
    const { tiering, clock, rng } = setup({ staleThresholdMs: 1_000 });
    populate(tiering, rng, 5);
    tiering.recompute();
    expect(tiering.tierCount).toBeGreaterThan(0);
    clock.advance(1_001);
    tiering.recompute();
    expect(tiering.size).toBe(0);
    expect(tiering.tierCount).toBe(0);
    expect(tiering.snapshot()).toEqual({ centroids: [], counts: [] });
  });

  it('recomputes at most once per interval', () => {
    const { tiering, clock, rng } = setup();
    expect(tiering.recomputeIntervalMs).toBe(TIERING_RECOMPUTE_INTERVAL_MS);
    const fast = Array.from({ length: 20 }, () => rng.bytes(32));
    for (const id of fast) tiering.recordRtt(id, 5 + rng.next());
    expect(tiering.maybeRecompute()).toBe(true); // the first call always computes
    expect(tiering.tierCount).toBe(1);
    // A slow region appears, but the model only changes at the next interval.
    for (let i = 0; i < 20; i++) tiering.recordRtt(rng.bytes(32), 200 + 10 * rng.next());
    clock.advance(TIERING_RECOMPUTE_INTERVAL_MS - 1);
    expect(tiering.maybeRecompute()).toBe(false);
    expect(tiering.tierCount).toBe(1);
    expect(tiering.snapshot().counts).toEqual([40]);
    clock.advance(1);
    expect(tiering.maybeRecompute()).toBe(true);
    expect(tiering.tierCount).toBe(2);
    expect(tiering.snapshot().counts).toEqual([20, 20]);
    expect(tiering.maybeRecompute()).toBe(false);
  });

  it('scales to tens of thousands of contacts', () => {
    const { tiering, rng } = setup();
    const bases = [1, 8, 30, 90, 300];
    for (let i = 0; i < 30_000; i++) {
      const id = rng.bytes(32);
      tiering.recordRtt(id, bases[i % bases.length]! * (0.9 + 0.2 * rng.next()));
    }
    tiering.recompute();
    expect(tiering.tierCount).toBe(5);
    expect(tiering.snapshot().counts).toEqual([6_000, 6_000, 6_000, 6_000, 6_000]);
  });

  it('rejects bad samples and options', () => {
    const { tiering, rng } = setup();
    expect(() => tiering.recordRtt(rng.bytes(32), -1)).toThrow(/rttMs/);
    expect(() => tiering.recordRtt(rng.bytes(32), Number.NaN)).toThrow(RangeError);
    const clock = new ManualClock();
    expect(() => new LatencyTiering({ recomputeIntervalMs: 0 }, clock, rng)).toThrow(ConfigError);
    expect(() => new LatencyTiering({ maxSamplesPerContact: 0 }, clock, rng)).toThrow(/maxSamplesPerContact/);
    expect(() => new LatencyTiering({ minTiers: 3, maxTiers: 2 }, clock, rng)).toThrow(/minTiers/);
  });
});

describe('tier ordering helpers', () => {
  it('order candidates by tier, stable within a tier, unknown contacts last', () => {
    const { tiering, rng } = setup();
    const ids = populate(tiering, rng, 4);
    tiering.recompute();
    const [fast1, fast2] = ids[0]!;
    const [mid1] = ids[1]!;
    const [slow1, slow2] = ids[2]!;
    const unknown = rng.bytes(32);
    const input = [fast1!, unknown, slow1!, mid1!, fast2!, slow2!];
    expect(slowerTiersFirst(input, tiering)).toEqual([slow1, slow2, mid1, fast1, fast2, unknown]);
    expect(fasterTiersFirst(input, tiering)).toEqual([fast1, fast2, mid1, slow1, slow2, unknown]);
    // Contacts and hex ids work too.
    const contacts: Contact[] = input.map((id, i) => ({ id, addr: `10.0.0.${i}:4433` }));
    expect(slowerTiersFirst(contacts, tiering).map((c) => c.id)).toEqual([
      slow1,
      slow2,
      mid1,
      fast1,
      fast2,
      unknown,
    ]);
    expect(fasterTiersFirst(input.map(toHex), tiering)[0]).toBe(toHex(fast1!));
  });
});
