import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RelayMemory } from '../../src/traversal/relay-memory.js';

const peer = (n: number): Uint8Array => new Uint8Array(32).fill(n);

describe('RelayMemory', () => {
  it('remembers a peer that needed a relay, at the same addresses, until the TTL', () => {
    const m = new RelayMemory(1_000);
    m.needed(peer(1), ['203.0.113.5:4433', '10.0.0.2:4433'], 0);
    expect(m.needsRelay(peer(1), ['10.0.0.2:4433', '203.0.113.5:4433'], 999)).toBe(true); // order does not matter
    expect(m.needsRelay(peer(2), ['203.0.113.5:4433'], 10)).toBe(false);
    expect(m.needsRelay(peer(1), ['203.0.113.5:4433', '10.0.0.2:4433'], 1_000)).toBe(false); // expired
    expect(m.size).toBe(0);
  });

  it('does not apply once the peer moved, and forgets a peer a direct path reached', () => {
    const m = new RelayMemory();
    m.needed(peer(1), ['203.0.113.5:4433'], 0);
    expect(m.needsRelay(peer(1), ['198.51.100.9:4433'], 1)).toBe(false);
    m.needed(peer(1), ['203.0.113.5:4433'], 2);
    m.forget(peer(1));
    expect(m.needsRelay(peer(1), ['203.0.113.5:4433'], 3)).toBe(false);
  });

  it('keeps at most `max` peers, dropping the oldest first (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 200 }), fc.integer({ min: 1, max: 16 }), (ids, max) => {
        const m = new RelayMemory(Infinity, max);
        ids.forEach((id, t) => m.needed(peer(id), ['a:1'], t));
        expect(m.size).toBeLessThanOrEqual(max);
        // the most recent distinct peers are the ones kept
        const recent = [...new Set([...ids].reverse())].slice(0, max);
        for (const id of recent) expect(m.needsRelay(peer(id), ['a:1'], ids.length)).toBe(true);
      }),
      { seed: 4242 },
    );
  });
});
