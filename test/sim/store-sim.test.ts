import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { runStoreSimulation } from '../../src/sim/store-scenario.js';

describe('store rate limit in the simulator (issue 17 item 2)', () => {
  it('an honest burst of 40 puts is stored on all k replicas, and puts 15 s later too', async () => {
    const r = await runStoreSimulation({ seed: 3, flooders: 0, floodMinutes: 0 });
    expect(r.burst.puts).toBe(40);
    expect(r.burst.complete).toBe(40);
    expect(r.burst.replicas).toBe(r.burst.wanted);
    expect(r.burst.wanted).toBe(40 * 20);
    expect(r.later).toEqual({ complete: 5, puts: 5 });
    expect(r.resolve).toEqual({ found: 45, values: 45 });
  });

  it.each([10, 100])('a flooder at %i x the limit is cut off; every honest value stays resolvable', async (factor) => {
    const r = await runStoreSimulation({ seed: 4, floodFactor: factor, floodMinutes: 10, burst: 20, later: 0 });
    const minutes = 10;
    // At most the burst plus the limit's pace per victim, and never more than its entry quota.
    expect(r.flood.accepted).toBeLessThanOrEqual(5 * Math.min(100, 20 + 20 * minutes));
    expect(r.flood.attempts).toBe(r.flood.accepted + r.flood.refused);
    expect(r.flood.attempts).toBeGreaterThanOrEqual(5 * 20 * factor * minutes);
    if (factor === 100) expect(r.flood.refused / r.flood.attempts).toBeGreaterThanOrEqual(0.99);
    expect(r.flood.honestPutsComplete).toBe(r.flood.honestPuts);
    expect(r.resolve.found).toBe(r.resolve.values);
  });

  it('is deterministic for a seed and rejects bad options', async () => {
    const a = await runStoreSimulation({ seed: 9, nodes: 14, k: 10, burst: 8, later: 1, floodMinutes: 1, floodFactor: 2 });
    const b = await runStoreSimulation({ seed: 9, nodes: 14, k: 10, burst: 8, later: 1, floodMinutes: 1, floodFactor: 2 });
    expect(a).toEqual(b);
    await expect(runStoreSimulation({ nodes: 2 })).rejects.toThrow(ConfigError);
    await expect(runStoreSimulation({ burst: -1 })).rejects.toThrow(/burst/);
  });
});
