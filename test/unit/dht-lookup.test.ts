import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { SeededRng } from '../../src/core/rng.js';
import type { Contact } from '../../src/core/types.js';
import { compareDistance } from '../../src/dht/distance.js';
import { LookupQuery, type LookupResult, type LookupStep } from '../../src/dht/lookup.js';
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
      // the first batch: the closest seed plus the two fastest among the next five closest seeds
      const seeds = world.tables.get(toHex(origin.id))!.closest(target, K);
      const window = seeds.slice(1, 6);
      const fastest = window
        .map((c, ix) => ({ c, ix, t: tierOf(c.id)! }))
        .sort((a, b) => a.t - b.t || a.ix - b.ix)
        .slice(0, 2)
        .map((x) => x.c);
      expect(batches[0]).toEqual([seeds[0], ...fastest]);
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
