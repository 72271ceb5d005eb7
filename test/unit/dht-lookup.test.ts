import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { SeededRng } from '../../src/core/rng.js';
import type { Contact } from '../../src/core/types.js';
import { compareDistance } from '../../src/dht/distance.js';
import { LOOKUP_PEER_TIMEOUT_MS, LookupQuery, type LookupResult, type LookupStep } from '../../src/dht/lookup.js';
import { RoutingTable } from '../../src/dht/routing-table.js';
import { ConfigError } from '../../src/errors.js';

const K = 10;

interface World {
  contacts: Contact[];
  tables: Map<string, RoutingTable>;
}

/** `n` nodes, each of whose routing tables has seen every other node (buckets cap what it keeps). */
function makeWorld(n: number, seed: number): World {
  const rng = new SeededRng(seed);
  const contacts = Array.from({ length: n }, (_, i) => ({ id: rng.bytes(32), addr: `10.0.${i >> 8}.${i & 255}:1` }));
  const tables = new Map<string, RoutingTable>();
  for (const c of contacts) {
    const t = new RoutingTable(c.id, 0, { k: K });
    const order = contacts.slice();
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const o of order) t.observeContact(o, 0);
    tables.set(toHex(c.id), t);
  }
  return { contacts, tables };
}

function bruteClosest(contacts: Contact[], target: Uint8Array, n: number, exclude: (c: Contact) => boolean): Contact[] {
  return contacts.filter((c) => !exclude(c)).sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, n);
}

interface RunOptions {
  dead?: Set<string>;
  silent?: Set<string>;
  values?: Map<string, Uint8Array>;
}

interface RunStats {
  result: LookupResult;
  maxInFlight: number;
  batches: Contact[][];
}

/** Drive a lookup to completion synchronously: answers in FIFO order, silent peers never answer. */
function drive(q: LookupQuery, world: World, opts: RunOptions = {}): RunStats {
  let now = 0;
  const queue: Contact[] = [];
  const batches: Contact[][] = [];
  let maxInFlight = 0;
  for (let guard = 0; guard < 100_000; guard++) {
    const step: LookupStep = q.next(now);
    if (step.kind === 'done') return { result: step.result, maxInFlight, batches };
    if (step.kind === 'query') {
      batches.push(step.contacts);
      for (const c of step.contacts) if (!opts.silent?.has(toHex(c.id))) queue.push(c);
      maxInFlight = Math.max(maxInFlight, q.inFlight);
      continue;
    }
    const c = queue.shift();
    if (c) {
      const hex = toHex(c.id);
      if (opts.dead?.has(hex)) q.onFailure(c.id, now);
      else {
        const value = opts.values?.get(hex);
        q.onResponse(c.id, world.tables.get(hex)!.closest(q.target, K), now, value);
      }
    } else if (step.until !== undefined) now = step.until;
    else throw new Error('lookup waits with nothing outstanding');
  }
  throw new Error('lookup did not terminate');
}

function newQuery(world: World, origin: Contact, target: Uint8Array, extra: Partial<ConstructorParameters<typeof LookupQuery>[0]> = {}): LookupQuery {
  const table = world.tables.get(toHex(origin.id))!;
  return new LookupQuery({
    target,
    self: origin.id,
    k: K,
    alpha: 3,
    seeds: table.closest(target, K),
    now: 0,
    mode: 'node',
    ...extra,
  });
}

describe('LookupQuery on a static network', () => {
  const world = makeWorld(400, 1);

  it('finds exactly the k closest nodes (brute force) for random targets', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 399 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (originIx, seed) => {
        const origin = world.contacts[originIx]!;
        const target = new SeededRng(seed).bytes(32);
        const { result } = drive(newQuery(world, origin, target), world);
        const expected = bruteClosest(world.contacts, target, K, (c) => c === origin);
        expect(result.closest.map((c) => toHex(c.id))).toEqual(expected.map((c) => toHex(c.id)));
        expect(result.failures).toBe(0);
        expect(result.hopsToClosest).toBeLessThanOrEqual(result.rounds);
        expect(result.responses).toBeLessThanOrEqual(result.queried);
      }),
      { seed: 42, numRuns: 60 },
    );
  });

  it('never has more than α queries outstanding while making progress', () => {
    const origin = world.contacts[0]!;
    const q = newQuery(world, origin, new SeededRng(2).bytes(32));
    const first = q.next(0);
    expect(first.kind === 'query' && first.contacts.length).toBe(3);
    expect(q.next(0).kind).toBe('wait');
    const { maxInFlight } = drive(q, world);
    expect(maxInFlight).toBeLessThanOrEqual(K);
  });

  it('finds the k closest live nodes when a quarter of the network is dead', () => {
    const rng = new SeededRng(3);
    const dead = new Set<string>();
    for (const c of world.contacts) if (rng.next() < 0.25) dead.add(toHex(c.id));
    const live = world.contacts.filter((c) => !dead.has(toHex(c.id)));
    let exactClosest = 0;
    for (let i = 0; i < 40; i++) {
      const origin = live[rng.int(live.length)]!;
      const target = rng.bytes(32);
      const { result } = drive(newQuery(world, origin, target), world, { dead });
      const expected = bruteClosest(live, target, K, (c) => c === origin);
      expect(result.closest.every((c) => !dead.has(toHex(c.id)))).toBe(true);
      if (toHex(result.closest[0]!.id) === toHex(expected[0]!.id)) exactClosest++;
      expect(result.closest.length).toBe(K);
    }
    expect(exactClosest).toBe(40);
  });

  it('value mode stops at the first node holding the value', () => {
    const origin = world.contacts[5]!;
    const target = new SeededRng(9).bytes(32);
    const holder = bruteClosest(world.contacts, target, 3, (c) => c === origin)[2]!;
    const value = new Uint8Array([1, 2, 3]);
    const q = newQuery(world, origin, target, { mode: 'value' });
    const { result } = drive(q, world, { values: new Map([[toHex(holder.id), value]]) });
    expect(result.value).toEqual(value);
    expect(result.valueFrom).toBe(holder);
    expect(q.finished).toBe(true);
  });

  it('node mode ignores values', () => {
    const origin = world.contacts[6]!;
    const target = new SeededRng(10).bytes(32);
    const all = new Map(world.contacts.map((c) => [toHex(c.id), new Uint8Array([9])]));
    const { result } = drive(newQuery(world, origin, target), world, { values: all });
    expect(result.value).toBeUndefined();
    expect(result.closest.length).toBe(K);
  });

  it('tier-aware selection still returns the exact k closest, and prefers fast tiers in each batch', () => {
    const rng = new SeededRng(11);
    const tiers = new Map(world.contacts.map((c) => [toHex(c.id), rng.int(4)]));
    const tierOf = (id: Uint8Array): number | undefined => tiers.get(toHex(id));
    for (let i = 0; i < 20; i++) {
      const origin = world.contacts[rng.int(world.contacts.length)]!;
      const target = rng.bytes(32);
      const q = newQuery(world, origin, target, { tierOf });
      const { result, batches } = drive(q, world);
      const expected = bruteClosest(world.contacts, target, K, (c) => c === origin);
      expect(result.closest.map((c) => toHex(c.id))).toEqual(expected.map((c) => toHex(c.id)));
      // the first batch: the alpha fastest seeds, closest first within a tier
      const seeds = world.tables.get(toHex(origin.id))!.closest(target, K);
      const fastest = seeds
        .map((c, ix) => ({ c, ix, t: tierOf(c.id)! }))
        .sort((a, b) => a.t - b.t || a.ix - b.ix)
        .slice(0, 3)
        .map((x) => x.c);
      expect(batches[0]).toEqual(fastest);
    }
  });

  it('with slot release, bounded skips and random tiers, still finds the closest live node among dead and silent peers', () => {
    const rng = new SeededRng(12);
    const tiers = new Map(world.contacts.map((c) => [toHex(c.id), rng.int(4)]));
    const tierOf = (id: Uint8Array): number | undefined => tiers.get(toHex(id));
    const dead = new Set(world.contacts.filter((_, i) => i % 11 === 3).map((c) => toHex(c.id)));
    const silent = new Set(world.contacts.filter((_, i) => i % 13 === 5).map((c) => toHex(c.id)));
    const gone = (c: Contact): boolean => dead.has(toHex(c.id)) || silent.has(toHex(c.id));
    const live = world.contacts.filter((c) => !gone(c));
    for (let i = 0; i < 20; i++) {
      const origin = live[rng.int(live.length)]!;
      const target = rng.bytes(32);
      const q = newQuery(world, origin, target, { tierOf, slotReleaseMs: 1 + rng.int(20), maxSkips: rng.int(4) });
      const { result } = drive(q, world, { dead, silent });
      // as without tiers: the true closest live node first, only nodes that answered, closest first
      const expected = bruteClosest(live, target, K, (c) => c === origin);
      expect(toHex(result.closest[0]!.id)).toBe(toHex(expected[0]!.id));
      expect(result.closest.some(gone)).toBe(false);
      const sortedIds = result.closest.slice().sort((a, b) => compareDistance(target, a.id, b.id));
      expect(result.closest).toEqual(sortedIds);
    }
  });
});

describe('LookupQuery state machine details', () => {
  const rng = new SeededRng(20);
  const self = rng.bytes(32);
  const target = rng.bytes(32);
  const mk = (n: number): Contact[] => Array.from({ length: n }, (_, i) => ({ id: rng.bytes(32), addr: `h:${i}` }));

  it('is done at once with no seeds', () => {
    const q = new LookupQuery({ target, self, k: K, alpha: 3, seeds: [], now: 5, mode: 'node' });
    const step = q.next(5);
    expect(step.kind).toBe('done');
    if (step.kind === 'done') expect(step.result.closest).toEqual([]);
  });

  it('counts rounds as causal depth and hopsToClosest as the round that named the closest', () => {
    const [a, b, c] = mk(3) as [Contact, Contact, Contact];
    // make c the closest to the target by construction: use the target itself as its id
    const cc: Contact = { id: Uint8Array.from(target), addr: c.addr };
    const q = new LookupQuery({ target, self, k: K, alpha: 3, seeds: [a], now: 0, mode: 'node' });
    expect(q.next(0)).toEqual({ kind: 'query', contacts: [a] });
    q.onResponse(a.id, [b], 1);
    expect(q.next(1)).toEqual({ kind: 'query', contacts: [b] });
    q.onResponse(b.id, [cc], 2);
    expect(q.next(2)).toEqual({ kind: 'query', contacts: [cc] });
    q.onResponse(cc.id, [], 3);
    const done = q.next(3);
    expect(done.kind).toBe('done');
    if (done.kind !== 'done') return;
    expect(done.result.rounds).toBe(3);
    expect(done.result.hopsToClosest).toBe(2);
    expect(done.result.closest[0]).toBe(cc);
    expect(done.result.queried).toBe(3);
    expect(done.result.finishedAt).toBe(3);
  });

  it('ignores unexpected answers and never lists itself', () => {
    const seeds = mk(2);
    const q = new LookupQuery({ target, self, k: K, alpha: 3, seeds, now: 0, mode: 'node' });
    expect(q.onResponse(seeds[0]!.id, [], 0)).toBe(false); // not queried yet
    q.next(0);
    expect(q.onResponse(rng.bytes(32), [], 0)).toBe(false); // unknown
    expect(q.onResponse(seeds[0]!.id, [{ id: self, addr: 'me:1' }], 0)).toBe(true);
    expect(q.onResponse(seeds[0]!.id, [], 0)).toBe(false); // duplicate
    expect(q.onFailure(seeds[0]!.id, 0)).toBe(false);
    q.onResponse(seeds[1]!.id, [], 0);
    const done = q.next(0);
    expect(done.kind === 'done' && done.result.closest.length).toBe(2);
    expect(done.kind === 'done' && done.result.closest.some((c) => c.id === self)).toBe(false);
  });

  it('frees a slot when a query passes its deadline, and still takes the late answer', () => {
    const seeds = mk(4);
    const q = new LookupQuery({ target, self, k: K, alpha: 2, seeds, now: 0, mode: 'node', peerTimeoutMs: 100 });
    const first = q.next(0);
    expect(first.kind === 'query' && first.contacts.length).toBe(2);
    const wait = q.next(50);
    expect(wait).toEqual({ kind: 'wait', until: 100 });
    const second = q.next(100);
    expect(second.kind === 'query' && second.contacts.length).toBe(2);
    const [s0, s1] = first.kind === 'query' ? first.contacts : [];
    expect(q.onResponse(s0!.id, [], 120)).toBe(true); // late, accepted
    expect(q.onFailure(s1!.id, 121)).toBe(true);
    if (second.kind === 'query') for (const c of second.contacts) q.onResponse(c.id, [], 130);
    const done = q.next(130);
    expect(done.kind).toBe('done');
    if (done.kind !== 'done') return;
    expect(done.result.timeouts).toBe(2);
    expect(done.result.failures).toBe(1);
    expect(done.result.closest.length).toBe(3);
    expect(done.result.closest.some((c) => c.id === s1!.id)).toBe(false);
  });

  it('widens to the rest of the k closest once α answers in a row brought nothing closer', () => {
    const seeds = mk(20);
    const q = new LookupQuery({ target, self, k: K, alpha: 2, seeds, now: 0, mode: 'node' });
    const first = q.next(0);
    if (first.kind !== 'query') throw new Error('expected a query');
    for (const c of first.contacts) q.onResponse(c.id, [], 1); // no progress twice: stalled
    const widened = q.next(1);
    // the two that answered fill part of the k-frame: the other k - 2 go out at once
    expect(widened.kind === 'query' && widened.contacts.length).toBe(K - 2);
    expect(q.next(1).kind).toBe('wait');
  });

  it('terminates only after the k closest live candidates answered', () => {
    const seeds = mk(K + 5).sort((a, b) => compareDistance(target, a.id, b.id));
    const q = new LookupQuery({ target, self, k: K, alpha: 3, seeds, now: 0, mode: 'node' });
    const asked: Contact[] = [];
    for (let guard = 0; guard < 100; guard++) {
      const step = q.next(0);
      if (step.kind === 'done') {
        expect(step.result.closest).toEqual(seeds.filter((c) => c !== seeds[0]).slice(0, K));
        expect(asked).toContain(seeds[K]);
        return;
      }
      if (step.kind === 'query') {
        for (const c of step.contacts) {
          asked.push(c);
          if (c === seeds[0]) q.onFailure(c.id, 0); // the closest is dead: the 11th must be asked
          else q.onResponse(c.id, [], 0);
        }
      }
    }
    throw new Error('no termination');
  });

  it('rejects bad parameters with ConfigError', () => {
    expect(() => new LookupQuery({ target, self, k: 0, alpha: 3, seeds: [], now: 0, mode: 'node' })).toThrow(ConfigError);
    expect(() => new LookupQuery({ target, self, k: 3, alpha: 0, seeds: [], now: 0, mode: 'node' })).toThrow(/alpha/);
    expect(() => new LookupQuery({ target: new Uint8Array(3), self, k: 3, alpha: 3, seeds: [], now: 0, mode: 'node' })).toThrow(/32 bytes/);
  });

  it('cancel() finishes with what is known', () => {
    const seeds = mk(3);
    const q = new LookupQuery({ target, self, k: K, alpha: 3, seeds, now: 0, mode: 'node' });
    q.next(0);
    q.onResponse(seeds[1]!.id, [], 1);
    const r = q.cancel(2);
    expect(r.closest).toEqual([seeds[1]]);
    expect(q.next(3).kind).toBe('done');
  });
});

describe('LookupQuery tier-aware picking and slot release', () => {
  const rng = new SeededRng(30);
  const self = rng.bytes(32);
  const target = rng.bytes(32);
  /** `n` contacts sorted by distance to the target (index 0 closest). */
  const sorted = (n: number): Contact[] =>
    Array.from({ length: n }, (_, i) => ({ id: rng.bytes(32), addr: `t:${i}` })).sort((a, b) => compareDistance(target, a.id, b.id));

  it('passes a slow closest candidate over at most maxSkips times, then queries it', () => {
    const cs = sorted(8);
    const slow = toHex(cs[0]!.id);
    const tierOf = (id: Uint8Array): number => (toHex(id) === slow ? 3 : 0);
    // k above the seed count, so every answer counts as progress (no stall widening the batch)
    const q = new LookupQuery({ target, self, k: 20, alpha: 1, seeds: cs, now: 0, mode: 'node', tierOf, maxSkips: 2 });
    const order: Contact[] = [];
    for (let t = 0; t < 3; t++) {
      const step = q.next(t);
      expect(step.kind).toBe('query');
      if (step.kind !== 'query') return;
      expect(step.contacts.length).toBe(1);
      order.push(step.contacts[0]!);
      q.onResponse(step.contacts[0]!.id, [], t);
    }
    // two fast ones first (closest first among equals), then the slow closest, its two skips used up
    expect(order).toEqual([cs[1], cs[2], cs[0]]);
  });

  it('ranks a candidate by the coordinate the answer relayed for it', () => {
    const [seed, ...cs] = sorted(5) as [Contact, ...Contact[]];
    const seen: (number | undefined)[] = [];
    // Tier from the relayed coordinate: x < 50 is fast (0), else slow (2); none: unknown.
    const tierOf = (_id: Uint8Array, coord: { x: number } | undefined): number | undefined => {
      seen.push(coord?.x);
      return coord === undefined ? undefined : coord.x < 50 ? 0 : 2;
    };
    const q = new LookupQuery({ target, self, k: 20, alpha: 1, seeds: [seed], now: 0, mode: 'node', tierOf, maxSkips: 5 });
    expect(q.next(0)).toEqual({ kind: 'query', contacts: [seed] });
    const slow = { x: 300, y: 0, height: 1, error: 0.2 };
    const fast = { x: 5, y: 0, height: 1, error: 0.2 };
    // cs[0..2] are closer than cs[3], which alone is relayed as fast.
    q.onResponse(seed.id, cs, 1, undefined, [slow, null, slow, fast]);
    expect(q.next(1)).toEqual({ kind: 'query', contacts: [cs[3]] });
    expect(seen).toContain(5);
    expect(seen).toContain(undefined);
    // Then the closest of the rest: cs[1] (unknown, 0.5) before cs[0] and cs[2] (slow, 2).
    q.onResponse(cs[3]!.id, [], 2);
    expect(q.next(2)).toEqual({ kind: 'query', contacts: [cs[1]] });
  });

  it('with maxSkips 0 queries strictly closest first, whatever the tiers', () => {
    const cs = sorted(6);
    const tierOf = (id: Uint8Array): number => cs.findIndex((c) => toHex(c.id) === toHex(id)) === 0 ? 5 : 0;
    const q = new LookupQuery({ target, self, k: 20, alpha: 2, seeds: cs, now: 0, mode: 'node', tierOf, maxSkips: 0 });
    expect(q.next(0)).toEqual({ kind: 'query', contacts: [cs[0], cs[1]] });
  });

  it('a query past slotReleaseMs frees its slot but is still awaited before the lookup ends', () => {
    const [a, b, c] = sorted(3) as [Contact, Contact, Contact];
    const q = new LookupQuery({ target, self, k: 20, alpha: 1, seeds: [a, b, c], now: 0, mode: 'node', slotReleaseMs: 10 });
    expect(q.next(0)).toEqual({ kind: 'query', contacts: [a] });
    expect(q.next(5)).toEqual({ kind: 'wait', until: 10 });
    expect(q.next(10)).toEqual({ kind: 'query', contacts: [b] });
    expect(q.inFlight).toBe(1);
    q.onResponse(b.id, [], 12);
    expect(q.next(12)).toEqual({ kind: 'query', contacts: [c] });
    q.onResponse(c.id, [], 14);
    // a is slow, not unresponsive: the lookup waits for it until its per-peer deadline
    const step = q.next(14);
    expect(step).toEqual({ kind: 'wait', until: LOOKUP_PEER_TIMEOUT_MS });
    expect(q.onResponse(a.id, [], 300)).toBe(true);
    const done = q.next(300);
    expect(done.kind).toBe('done');
    if (done.kind !== 'done') return;
    expect(done.result.closest).toEqual([a, b, c]);
    expect(done.result.timeouts).toBe(0);
  });

  it('a slow query that passes its per-peer deadline stops blocking termination', () => {
    const [a, b] = sorted(2) as [Contact, Contact];
    const q = new LookupQuery({ target, self, k: 20, alpha: 1, seeds: [a, b], now: 0, mode: 'node', slotReleaseMs: 10, peerTimeoutMs: 100 });
    q.next(0);
    expect(q.next(10)).toEqual({ kind: 'query', contacts: [b] });
    q.onResponse(b.id, [], 20);
    expect(q.next(20)).toEqual({ kind: 'wait', until: 100 });
    const done = q.next(100);
    expect(done.kind).toBe('done');
    if (done.kind === 'done') {
      expect(done.result.closest).toEqual([b]);
      expect(done.result.timeouts).toBe(1);
    }
  });

  it('rejects bad tier options with a ConfigError', () => {
    const base = { target, self, k: 20, alpha: 3, seeds: [], now: 0, mode: 'node' as const };
    expect(() => new LookupQuery({ ...base, maxSkips: -1 })).toThrow(/maxSkips/);
    expect(() => new LookupQuery({ ...base, tierWindow: 0 })).toThrow(/tierWindow/);
    expect(() => new LookupQuery({ ...base, slotReleaseMs: 0 })).toThrow(ConfigError);
  });
});
