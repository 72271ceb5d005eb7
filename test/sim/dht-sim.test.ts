import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import type { DhtSimResult } from '../../src/sim/dht-result.js';
import { formatDhtSimTable } from '../../src/sim/dht-result.js';
import { runDhtSimulation } from '../../src/sim/dht-scenario.js';

/** The deterministic part of a result: everything but wall time and memory. */
function deterministic(r: DhtSimResult): Omit<DhtSimResult, 'perf'> {
  const { perf: _perf, ...rest } = r;
  return rest;
}

describe('DHT simulation, 1,000 nodes (k=20, alpha=3)', () => {
  it('finds the true closest node of every target without churn, within 3 rounds at p95', async () => {
    const r = await runDhtSimulation({ nodes: 1000, lookups: 1000, seed: 11 });
    expect(r.nodes).toEqual({ total: 1000, live: 1000, churned: 0, left: 0, joined: 0, bootstrapFailures: 0 });
    expect(r.lookups.errors).toBe(0);
    expect(r.lookups.succeeded).toBe(1000);
    expect(r.lookups.successRate).toBe(1);
    expect(r.lookups.hopsToClosest.p95).toBeLessThanOrEqual(3);
    expect(r.lookups.rounds.p95).toBeLessThanOrEqual(5);
    // Every lookup sends at least alpha queries and takes at least one round trip.
    expect(r.lookups.messages.p50).toBeGreaterThanOrEqual(3);
    expect(r.lookups.latencyMs.p50).toBeGreaterThan(0);
    expect(formatDhtSimTable(r)).toContain('100.00% (1000/1000)');
  });

  it('still finds the closest live node for >= 99% of targets after 25% of the nodes went down', async () => {
    const r = await runDhtSimulation({ nodes: 1000, lookups: 1000, churn: 0.25, seed: 12 });
    expect(r.nodes.churned).toBe(250);
    expect(r.nodes.live).toBe(750);
    expect(r.lookups.errors).toBe(0);
    expect(r.lookups.successRate).toBeGreaterThanOrEqual(0.99);
  });
});

describe('DHT simulation determinism and options', () => {
  it('gives the same result for the same seed, and a different one for another seed', async () => {
    const opts = { nodes: 300, lookups: 300, churn: 0.2, loss: 0.01, seed: 5, tiering: true } as const;
    const a = await runDhtSimulation(opts);
    const b = await runDhtSimulation(opts);
    expect(JSON.stringify(deterministic(a))).toBe(JSON.stringify(deterministic(b)));
    const c = await runDhtSimulation({ ...opts, seed: 6 });
    expect(JSON.stringify(deterministic(c))).not.toBe(JSON.stringify(deterministic(a)));
  });

  it('keeps finding the closest live node while nodes leave and join during the lookups', async () => {
    const r = await runDhtSimulation({ nodes: 300, lookups: 300, seed: 8, leaveRate: 5, joinRate: 5, concurrency: 30 });
    expect(r.nodes.left).toBeGreaterThan(10);
    expect(r.nodes.joined).toBeGreaterThan(10);
    expect(r.nodes.total).toBe(300 + r.nodes.joined + r.nodes.bootstrapFailures);
    expect(r.nodes.live).toBe(300 - r.nodes.left + r.nodes.joined);
    expect(r.lookups.errors).toBe(0);
    expect(r.lookups.successRate).toBeGreaterThanOrEqual(0.97);
  });

  it('with tiering on every node learns a Vivaldi coordinate from its measured RTTs; off, none', async () => {
    const updates: number[] = [];
    let offCoordinates = 0;
    await runDhtSimulation({
      nodes: 300,
      lookups: 300,
      seed: 9,
      tiering: true,
      onLookup: ({ origin }) => updates.push(origin.dht.coordinates!.updates),
    });
    await runDhtSimulation({
      nodes: 100,
      lookups: 100,
      seed: 9,
      tiering: false,
      onLookup: ({ origin }) => (offCoordinates += origin.dht.coordinates === undefined ? 0 : 1),
    });
    expect(updates.length).toBe(300);
    // Joining alone measures a few round trips, each moving the node's coordinate.
    expect(Math.min(...updates)).toBeGreaterThan(0);
    expect(offCoordinates).toBe(0);
  });

  it('runs the DHT over the full MeshNode + MemoryTransport stack too', async () => {
    const r = await runDhtSimulation({ nodes: 150, lookups: 150, seed: 3, stack: 'mesh', latency: 'uniform' });
    expect(r.config.stack).toBe('mesh');
    expect(r.lookups.successRate).toBe(1);
  });

  it('rejects bad options with a ConfigError naming the option', async () => {
    await expect(runDhtSimulation({ nodes: 1 })).rejects.toThrow(ConfigError);
    await expect(runDhtSimulation({ churn: 1 })).rejects.toThrow(/churn/);
    await expect(runDhtSimulation({ loss: -0.1 })).rejects.toThrow(/loss/);
    await expect(runDhtSimulation({ latency: 'flat' as never })).rejects.toThrow(/latency/);
    await expect(runDhtSimulation({ stack: 'quic' as never })).rejects.toThrow(/stack/);
  });
});
