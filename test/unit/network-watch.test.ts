import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { NetworkWatch } from '../../src/traversal/network-watch.js';
import { flush } from '../support/virtual-time.js';


describe('NetworkWatch', () => {
  /** A started watch over a fake machine, and what it reported. */
  function watching() {
    // a fake machine: its addresses (the fingerprint) and its route toward the reference host
    const m = { addrs: 'eth0=10.0.0.2/24', route: '10.0.0.2' as string | null };
    const clock = new ManualClock();
    const seen: (string | null)[] = [];
    const w = new NetworkWatch({
      clock,
      referenceHost: '203.0.113.1',
      intervalMs: 100,
      fingerprint: () => m.addrs,
      toward: () => Promise.resolve(m.route),
      onChange: (a) => seen.push(a),
    });
    w.start();
    return { m, clock, seen, w };
  }

  it('reports each change of addresses once, with the address toward the reference host', async () => {
    const { m, clock, seen, w } = watching();
    clock.advance(300);
    await flush(); // the watch's pending address lookups finish
    expect(seen).toEqual([]);
    m.addrs = 'eth0=10.0.1.5/24';
    m.route = '10.0.1.5';
    for (let i = 0; i < 6; i++) {
      clock.advance(100);
      await flush();
    }
    expect(seen).toEqual(['10.0.1.5']);
    w.stop();
  });

  it('a change seen before its route: null first, then the address once the route is back, with no address change', async () => {
    const { m, clock, seen, w } = watching();
    // the new address is there but the routes are not yet
    m.addrs = 'eth0=10.0.1.5/24';
    m.route = null;
    clock.advance(100);
    await flush();
    expect(seen).toEqual([null]);
    clock.advance(100);
    await flush();
    expect(seen).toEqual([null]);
    m.route = '10.0.1.5';
    clock.advance(100);
    await flush();
    expect(seen).toEqual([null, '10.0.1.5']);
    clock.advance(500);
    await flush();
    expect(seen).toEqual([null, '10.0.1.5']);
    w.stop();
  });
});
