import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../src/core/rng.js';
import type { Contact } from '../../src/core/types.js';
import { bucketIndex, compareDistance, randomIdInBucket } from '../../src/dht/distance.js';
import { RoutingTable } from '../../src/dht/routing-table.js';
import { ConfigError } from '../../src/errors.js';

const SEED = 0xb0c;

function contactOf(id: Uint8Array, n = 0): Contact {
  return { id, addr: `10.0.${(n >> 8) & 255}.${n & 255}:4433` };
}

/** A table for `self` fed with `count` contacts from bucket `i`. */
function fullBucket(self: Uint8Array, i: number, count: number, rng: SeededRng, table: RoutingTable, now = 0): Contact[] {
  const out: Contact[] = [];
  for (let n = 0; n < count; n++) {
    const c = contactOf(randomIdInBucket(self, i, rng), n);
    table.observeContact(c, now + n);
    out.push(c);
  }
  return out;
}

describe('RoutingTable placement and closest()', () => {
  it('places each contact in bucketIndex(self, id) and never stores itself', () => {
    const rng = new SeededRng(1);
    const self = rng.bytes(32);
    const t = new RoutingTable(self, 0);
    expect(t.observeContact(contactOf(self), 0).kind).toBe('ignored');
    for (let n = 0; n < 300; n++) {
      const c = contactOf(rng.bytes(32), n);
      t.observeContact(c, n);
      if (t.has(c.id)) expect(t.bucketContacts(bucketIndex(self, c.id)).some((x) => x.id === c.id)).toBe(true);
    }
    const sizes = t.bucketSizes();
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(t.size);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(t.k);
  });

  it('closest(target, n) equals a brute-force sort of the whole table', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 40 }), fc.boolean(), (seed, n, nearSelf) => {
        const rng = new SeededRng(seed);
        const self = rng.bytes(32);
        const t = new RoutingTable(self, 0, { k: 10 });
        // random ids fill the far buckets; ids near self fill the low ones
        for (let i = 0; i < 150; i++) t.observeContact(contactOf(rng.bytes(32), i), i);
        for (let i = 0; i < 60; i++) t.observeContact(contactOf(randomIdInBucket(self, rng.int(40), rng), i), i);
        const target = nearSelf ? randomIdInBucket(self, rng.int(60), rng) : rng.bytes(32);
        const brute = t.allContacts().sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, n);
        expect(t.closest(target, n)).toEqual(brute);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('closest(target, n, exclude) leaves out exactly the excluded id', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 30 }), (seed, n) => {
        const rng = new SeededRng(seed);
        const self = rng.bytes(32);
        const t = new RoutingTable(self, 0, { k: 10 });
        for (let i = 0; i < 120; i++) t.observeContact(contactOf(rng.bytes(32), i), i);
        const target = rng.bytes(32);
        const all = t.allContacts().sort((a, b) => compareDistance(target, a.id, b.id));
        const excluded = all[rng.int(Math.min(all.length, n + 1))]!;
        const expected = all.filter((c) => c !== excluded).slice(0, n);
        expect(t.closest(target, n, excluded.id)).toEqual(expected);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it('closest() of our own id walks every bucket in order', () => {
    const rng = new SeededRng(3);
    const self = rng.bytes(32);
    const t = new RoutingTable(self, 0);
    for (let i = 0; i < 100; i++) t.observeContact(contactOf(randomIdInBucket(self, rng.int(256), rng), i), i);
    const brute = t.allContacts().sort((a, b) => compareDistance(self, a.id, b.id));
    expect(t.closest(self, 1000)).toEqual(brute);
  });

  it('rejects a k outside K_MIN..K_MAX and a malformed self id', () => {
    expect(() => new RoutingTable(new Uint8Array(32), 0, { k: 5 })).toThrow(ConfigError);
    expect(() => new RoutingTable(new Uint8Array(16), 0)).toThrow(/32 bytes/);
  });
});

describe('RoutingTable LRU and ping-before-evict', () => {
  it('moves a re-observed contact to the tail (least recently seen stays at the head)', () => {
    const rng = new SeededRng(4);
    const self = rng.bytes(32);
    const t = new RoutingTable(self, 0, { k: 10 });
    const cs = fullBucket(self, 250, 3, rng, t);
    expect(t.observeContact(cs[0]!, 10).kind).toBe('updated');
    expect(t.bucketContacts(250).map((c) => c.id)).toEqual([cs[1]!.id, cs[2]!.id, cs[0]!.id]);
  });

  it('keeps a full bucket, caches the newcomer and pings the LRU head; a live head stays', () => {
    const rng = new SeededRng(5);
    const self = rng.bytes(32);
    const t = new RoutingTable(self, 0, { k: 10, pingFreshnessMs: 0 });
    const cs = fullBucket(self, 255, 10, rng, t);
    const newcomer = contactOf(randomIdInBucket(self, 255, rng), 99);
    const out = t.observeContact(newcomer, 20);
    expect(out).toEqual({ kind: 'pending', ping: cs[0] });
    expect(t.has(newcomer.id)).toBe(false);
    expect(t.bucketReplacements(255)).toEqual([newcomer]);
    // a second newcomer while the ping is in flight: cached, no second ping
    const second = contactOf(randomIdInBucket(self, 255, rng), 100);
    expect(t.observeContact(second, 21)).toEqual({ kind: 'pending', ping: null });

    t.onPingResult(cs[0]!.id, true, 30);
    expect(t.bucketContacts(255).map((c) => c.id)).toEqual([...cs.slice(1), cs[0]!].map((c) => c.id));
    expect(t.has(newcomer.id)).toBe(false);
    expect(t.evictions).toBe(0);
  });

  it('evicts a dead head and promotes the most recent replacement', () => {
    const rng = new SeededRng(6);
    const self = rng.bytes(32);
    const t = new RoutingTable(self, 0, { k: 10, pingFreshnessMs: 0 });
    const cs = fullBucket(self, 254, 10, rng, t);
    const a = contactOf(randomIdInBucket(self, 254, rng), 50);
    const b = contactOf(randomIdInBucket(self, 254, rng), 51);
    const first = t.observeContact(a, 20);
    t.observeContact(b, 21);
    expect(first.kind === 'pending' && first.ping).toBe(cs[0]);
    t.onPingResult(cs[0]!.id, false, 30);
    expect(t.has(cs[0]!.id)).toBe(false);
    expect(t.has(b.id)).toBe(true);
    expect(t.bucketReplacements(254)).toEqual([a]);
    expect(t.size).toBe(10);
    expect(t.evictions).toBe(1);
    // the next newcomer may ping again
    const c = contactOf(randomIdInBucket(self, 254, rng), 52);
    const again = t.observeContact(c, 40);
    expect(again.kind === 'pending' && again.ping).toBe(cs[1]);
  });

  it('hearing from the pinged head counts as a pong', () => {
    const rng = new SeededRng(7);
    const self = rng.bytes(32);
    const t = new RoutingTable(self, 0, { k: 10, pingFreshnessMs: 0 });
    const cs = fullBucket(self, 253, 10, rng, t);
    t.observeContact(contactOf(randomIdInBucket(self, 253, rng)), 20);
    expect(t.observeContact(cs[0]!, 21).kind).toBe('updated');
    const next = t.observeContact(contactOf(randomIdInBucket(self, 253, rng)), 22);
    expect(next.kind === 'pending' && next.ping).toBe(cs[1]);
  });

  it('does not ping while the LRU head is fresher than pingFreshnessMs', () => {
    const rng = new SeededRng(13);
    const self = rng.bytes(32);
    const t = new RoutingTable(self, 0, { k: 10, pingFreshnessMs: 1000 });
    const cs = fullBucket(self, 251, 10, rng, t, 0);
    expect(t.observeContact(contactOf(randomIdInBucket(self, 251, rng)), 999)).toEqual({ kind: 'pending', ping: null });
    expect(t.observeContact(contactOf(randomIdInBucket(self, 251, rng)), 1000)).toEqual({ kind: 'pending', ping: cs[0] });
    expect(t.bucketReplacements(251).length).toBe(2);
  });

  it('offerContact fills only free slots, as a never-seen head that the next real contact replaces', () => {
    const rng = new SeededRng(14);
    const self = rng.bytes(32);
    const t = new RoutingTable(self, 0, { k: 10 });
    const seen = fullBucket(self, 250, 9, rng, t, 100);
    const heard = contactOf(randomIdInBucket(self, 250, rng), 77);
    expect(t.offerContact(heard)).toBe(true);
    expect(t.offerContact(heard)).toBe(false); // already known
    expect(t.offerContact(contactOf(randomIdInBucket(self, 250, rng)))).toBe(false); // now full
    expect(t.offerContact(contactOf(self))).toBe(false);
    expect(t.bucketContacts(250)[0]).toBe(heard);
    // a contact we hear from while full replaces the never-seen head outright, without a ping
    const talker = contactOf(randomIdInBucket(self, 250, rng), 78);
    expect(t.observeContact(talker, 200)).toEqual({ kind: 'added' });
    expect(t.has(heard.id)).toBe(false);
    expect(t.bucketContacts(250).at(-1)).toBe(talker);
    expect(seen.every((c) => t.has(c.id))).toBe(true);
    expect(t.size).toBe(10);
    expect(t.evictions).toBe(0);
  });

  it('markFailed evicts and promotes; unknown ids are ignored', () => {
    const rng = new SeededRng(8);
    const self = rng.bytes(32);
    const t = new RoutingTable(self, 0, { k: 10 });
    const cs = fullBucket(self, 252, 10, rng, t);
    const r = contactOf(randomIdInBucket(self, 252, rng));
    t.observeContact(r, 20);
    expect(t.markFailed(cs[4]!.id, 30)).toBe(true);
    expect(t.has(cs[4]!.id)).toBe(false);
    expect(t.has(r.id)).toBe(true);
    expect(t.markFailed(rng.bytes(32), 31)).toBe(false);
  });

  it('with failuresBeforeEvict = 2 a single failure is forgiven, and success resets the count', () => {
    const rng = new SeededRng(9);
    const self = rng.bytes(32);
    const t = new RoutingTable(self, 0, { k: 10, failuresBeforeEvict: 2 });
    const [c] = fullBucket(self, 200, 1, rng, t);
    expect(t.markFailed(c!.id, 1)).toBe(false);
    t.observeContact(c!, 2);
    expect(t.markFailed(c!.id, 3)).toBe(false);
    expect(t.markFailed(c!.id, 4)).toBe(true);
    expect(t.size).toBe(0);
  });

  it('growing k promotes cached replacements; shrinking keeps existing contacts', () => {
    const rng = new SeededRng(10);
    const self = rng.bytes(32);
    const t = new RoutingTable(self, 0, { k: 10 });
    fullBucket(self, 255, 14, rng, t);
    expect(t.size).toBe(10);
    t.setK(12, 5);
    expect(t.size).toBe(12);
    t.setK(10, 6);
    expect(t.size).toBe(12);
    const out = t.observeContact(contactOf(randomIdInBucket(self, 255, rng)), 7);
    expect(out.kind).toBe('pending');
  });

  it('records the RTT given with an observation', () => {
    const rng = new SeededRng(11);
    const self = rng.bytes(32);
    const t = new RoutingTable(self, 0);
    const c = contactOf(rng.bytes(32));
    t.observeContact(c, 0, 42);
    t.observeContact(c, 1);
    expect(t.rttOf(c.id)).toBe(42);
  });
});

describe('RoutingTable refresh bookkeeping', () => {
  it('lists buckets from the closest neighbour up that no lookup touched within the interval', () => {
    const rng = new SeededRng(12);
    const self = rng.bytes(32);
    const t = new RoutingTable(self, 0, { refreshIntervalMs: 1000 });
    expect(t.bucketsNeedingRefresh(5000)).toEqual([]);
    t.observeContact(contactOf(randomIdInBucket(self, 250, rng)), 0);
    expect(t.bucketsNeedingRefresh(999)).toEqual([]);
    const due = t.bucketsNeedingRefresh(1000);
    expect(due).toEqual(Array.from({ length: 6 }, (_, i) => 250 + i));
    t.touchBucketFor(randomIdInBucket(self, 252, rng), 1000);
    expect(t.bucketsNeedingRefresh(1500)).toEqual([250, 251, 253, 254, 255]);
  });
});

describe('RoutingTable proximity neighbour selection (faster option)', () => {
  const faster = (candidate: number, member: number): boolean => member > 2 * candidate;

  function pnsTable(rtts: number[]): { t: RoutingTable; self: Uint8Array; cs: Contact[]; rng: SeededRng } {
    const rng = new SeededRng(77);
    const self = rng.bytes(32);
    const all = rtts.concat(new Array<number>(Math.max(0, 10 - rtts.length)).fill(rtts[0]!)); // k >= K_MIN
    const t = new RoutingTable(self, 0, { k: all.length, pingFreshnessMs: 0, faster });
    const cs = all.map((rtt, n) => {
      const c = contactOf(randomIdInBucket(self, 255, rng), n);
      t.observeContact(c, n, Number.isNaN(rtt) ? undefined : rtt);
      return c;
    });
    return { t, self, cs, rng };
  }

  it('swaps the slowest measured member for a clearly faster newcomer; the member waits in the cache', () => {
    const { t, self, cs, rng } = pnsTable([40, 200, 30, 120]);
    const fast = contactOf(randomIdInBucket(self, 255, rng), 50);
    expect(t.observeContact(fast, 10, 10)).toEqual({ kind: 'added' });
    expect(t.has(fast.id)).toBe(true);
    expect(t.has(cs[1]!.id)).toBe(false);
    expect(t.bucketReplacements(255)).toEqual([cs[1]]);
    expect(t.rttOf(fast.id)).toBe(10);
    expect(t.size).toBe(10);
    expect(t.evictions).toBe(0); // not churn: nobody failed
    // next clearly faster one replaces the now slowest (120 ms)
    const fast2 = contactOf(randomIdInBucket(self, 255, rng), 51);
    expect(t.observeContact(fast2, 11, 12)).toEqual({ kind: 'added' });
    expect(t.has(cs[3]!.id)).toBe(false);
  });

  it('keeps the old members when the newcomer is not clearly faster (long-lived preference among equals)', () => {
    const { t, self, cs, rng } = pnsTable([40, 60, 30, 50]);
    const similar = contactOf(randomIdInBucket(self, 255, rng), 50);
    expect(t.observeContact(similar, 10, 35)).toEqual({ kind: 'pending', ping: cs[0] });
    expect(t.has(similar.id)).toBe(false);
    expect(t.bucketContacts(255)).toEqual(cs);
  });

  it('never swaps out members whose RTT is unknown, and needs a measured newcomer', () => {
    const { t, self, cs, rng } = pnsTable([NaN, NaN, NaN]);
    const fast = contactOf(randomIdInBucket(self, 255, rng), 50);
    expect(t.observeContact(fast, 10, 1)).toEqual({ kind: 'pending', ping: cs[0] });
    const { t: t2, self: self2, rng: rng2 } = pnsTable([300, 300]);
    const unmeasured = contactOf(randomIdInBucket(self2, 255, rng2), 60);
    expect(t2.observeContact(unmeasured, 10).kind).toBe('pending');
    expect(t2.has(unmeasured.id)).toBe(false);
  });

  it('without the option a full bucket never swaps on RTT', () => {
    const rng = new SeededRng(78);
    const self = rng.bytes(32);
    const t = new RoutingTable(self, 0, { k: 10, pingFreshnessMs: 0 });
    const cs = Array.from({ length: 10 }, (_, n) => contactOf(randomIdInBucket(self, 255, rng), n));
    cs.forEach((c, n) => t.observeContact(c, n, 300));
    const fast = contactOf(randomIdInBucket(self, 255, rng), 30);
    expect(t.observeContact(fast, 20, 1)).toEqual({ kind: 'pending', ping: cs[0] });
    expect(t.has(fast.id)).toBe(false);
  });
});
