import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LruMap } from '../../src/storage/lru.js';

describe('LruMap', () => {
  it('evicts in least-recently-used order; get and touch refresh, peek does not', () => {
    const lru = new LruMap<string, number>();
    lru.set('a', 1).set('b', 2).set('c', 3);
    expect(lru.get('a')).toBe(1); // a becomes most recent
    expect(lru.peek('b')).toBe(2); // b stays oldest
    expect([...lru.keys()]).toEqual(['b', 'c', 'a']);
    expect(lru.touch('b')).toBe(true);
    expect(lru.touch('zz')).toBe(false);
    expect(lru.oldestKey()).toBe('c');
    expect(lru.newestKey()).toBe('b');
    expect(lru.evictOldest()).toEqual({ key: 'c', value: 3 });
    expect(lru.evictOldest()).toEqual({ key: 'a', value: 1 });
    expect(lru.evictOldest()).toEqual({ key: 'b', value: 2 });
    expect(lru.evictOldest()).toBeUndefined();
    expect(lru.size).toBe(0);
  });

  it('re-setting a key replaces the value and makes it most recent', () => {
    const lru = new LruMap<string, number>();
    lru.set('a', 1).set('b', 2).set('a', 10);
    expect(lru.size).toBe(2);
    expect([...lru.entries()]).toEqual([
      ['b', 2],
      ['a', 10],
    ]);
  });

  it('deletes from the head, middle and tail without breaking the order', () => {
    const lru = new LruMap<number, number>();
    for (let i = 0; i < 5; i++) lru.set(i, i);
    expect(lru.delete(0)).toBe(true);
    expect(lru.delete(2)).toBe(true);
    expect(lru.delete(4)).toBe(true);
    expect(lru.delete(4)).toBe(false);
    expect([...lru.keys()]).toEqual([1, 3]);
    lru.set(5, 5);
    expect([...lru.values()]).toEqual([1, 3, 5]);
    lru.clear();
    expect(lru.size).toBe(0);
    expect(lru.oldestKey()).toBeUndefined();
  });

  it('with a capacity evicts the oldest on insert and reports it', () => {
    const evicted: string[] = [];
    const lru = new LruMap<string, number>({ capacity: 2, onEvict: (k) => evicted.push(k) });
    lru.set('a', 1).set('b', 2);
    lru.get('a');
    lru.set('c', 3);
    expect(evicted).toEqual(['b']);
    expect([...lru.keys()]).toEqual(['a', 'c']);
    expect(() => new LruMap({ capacity: 0 })).toThrow(RangeError);
  });

  it('matches a reference model under random operations (seeded)', () => {
    type Op = { op: 'set' | 'get' | 'peek' | 'delete' | 'touch' | 'evict'; key: number; value: number };
    const opArb: fc.Arbitrary<Op> = fc.record({
      op: fc.constantFrom('set', 'get', 'peek', 'delete', 'touch', 'evict'),
      key: fc.integer({ min: 0, max: 12 }),
      value: fc.integer(),
    });
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => {
        const lru = new LruMap<number, number>();
        // Model: array ordered oldest → newest.
        let model: [number, number][] = [];
        const find = (k: number) => model.findIndex(([mk]) => mk === k);
        const bump = (i: number) => {
          const [e] = model.splice(i, 1);
          model.push(e!);
        };
        for (const { op, key, value } of ops) {
          const i = find(key);
          switch (op) {
            case 'set':
              if (i >= 0) model.splice(i, 1);
              model.push([key, value]);
              lru.set(key, value);
              break;
            case 'get':
              expect(lru.get(key)).toBe(i >= 0 ? model[i]![1] : undefined);
              if (i >= 0) bump(i);
              break;
            case 'peek':
              expect(lru.peek(key)).toBe(i >= 0 ? model[i]![1] : undefined);
              break;
            case 'touch':
              expect(lru.touch(key)).toBe(i >= 0);
              if (i >= 0) bump(i);
              break;
            case 'delete':
              expect(lru.delete(key)).toBe(i >= 0);
              if (i >= 0) model.splice(i, 1);
              break;
            case 'evict': {
              const first = model[0];
              expect(lru.evictOldest()).toEqual(first ? { key: first[0], value: first[1] } : undefined);
              model = model.slice(1);
              break;
            }
          }
          expect(lru.size).toBe(model.length);
        }
        expect([...lru.entries()]).toEqual(model);
      }),
      { seed: 0x5eed, numRuns: 200 },
    );
  });
});
