import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { Components } from '../../src/core/components.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import { DhtNode, type DhtNodeOptions, type StoreResult } from '../../src/dht/dht-node.js';
import { PACE_MARGIN_MS, StorePacer } from '../../src/dht/store-pacer.js';
import { ConfigError } from '../../src/errors.js';
import type { Labels, Metrics } from '../../src/metrics/metrics.js';
import { SimNetwork } from '../../src/sim/sim-network.js';
import { settle } from '../support/virtual-time.js';

/** Metrics that remember every counter increment. */
function counting(): { metrics: Metrics; sum: (name: string, labels?: Labels) => number } {
  const seen: { name: string; labels?: Labels; value: number }[] = [];
  const metrics: Metrics = {
    counter: (name) => ({ inc: (labels, value) => void seen.push({ name, labels, value: value ?? 1 }) }),
    gauge: () => ({ set: () => {}, inc: () => {}, dec: () => {} }),
    histogram: () => ({ observe: () => {} }),
  };
  const sum = (name: string, labels: Labels = {}): number =>
    seen
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels?.[k] === v))
      .reduce((n, s) => n + s.value, 0);
  return { metrics, sum };
}

/**
 * A writer and `n` other DHT nodes (real ProtectedStores at the spec limits unless `remote` says
 * otherwise) on a 5 ms network, joined; k = 10 so that in this small network every remote node
 * is a replica of most keys (the case where a burst of puts meets the per-peer limit).
 */
async function network(n: number, writer: DhtNodeOptions, remote: DhtNodeOptions = {}, seed = 1) {
  const clock = new ManualClock(0);
  const rng = new SeededRng(seed);
  const net = new SimNetwork({ clock, rng: rng.fork(), latencyMs: () => 5 });
  const { metrics, sum } = counting();
  let count = 0;
  const make = (options: DhtNodeOptions, m: Metrics): DhtNode => {
    count++;
    const ep = net.createEndpoint(rng.bytes(32), `10.0.0.${count}:4433`);
    const components: Components = { clock, rng: rng.fork(), logger: silentLogger, metrics: m };
    const dht = new DhtNode({ rpc: ep, components, options: { maintenance: false, tierAware: false, k: 10, adaptiveK: false, ...options } });
    dht.attach();
    return dht;
  };
  const others = Array.from({ length: n }, () => make(remote, counting().metrics));
  const w = make(writer, metrics);
  for (const o of others.slice(1)) await settle(clock, o.bootstrap([others[0]!.contact], { refresh: false }));
  await settle(clock, w.bootstrap([others[0]!.contact], { refresh: false }));
  const values = Array.from({ length: 40 }, () => rng.bytes(64));
  const burst = (): Promise<StoreResult[]> => settle(clock, Promise.all(values.map((v) => w.put(v))));
  return { clock, writer: w, sum, burst };
}

describe('StorePacer (the writer side of the per-peer store limit)', () => {
  it('sends a burst at once, then one store per token interval, per peer', async () => {
    const clock = new ManualClock(0);
    const pacer = new StorePacer(clock, { perMinute: 20, burst: 3 });
    const waits = await settle(clock, Promise.all([0, 1, 2, 3, 4].map(() => pacer.acquire('a'))));
    const slot = 3_000 + PACE_MARGIN_MS;
    expect(waits).toEqual([0, 0, 0, slot, 2 * slot]);
    expect(await pacer.acquire('b')).toBe(0); // another peer has its own bucket
  });

  it('stop() wakes every waiting store', async () => {
    const clock = new ManualClock(0);
    const pacer = new StorePacer(clock, { perMinute: 1, burst: 1 });
    await pacer.acquire('a');
    let woke = false;
    const waiting = pacer.acquire('a').then(() => (woke = true));
    pacer.stop();
    await waiting;
    expect(woke).toBe(true);
    expect(clock.now()).toBe(0);
  });

  it('rejects a bad pacing with a ConfigError naming the field', () => {
    const clock = new ManualClock(0);
    expect(() => new StorePacer(clock, { perMinute: 0 })).toThrow(/storePacing.perMinute/);
    expect(() => new StorePacer(clock, { burst: 1.5 })).toThrow(ConfigError);
    expect(() => new StorePacer(clock, { retries: -1 })).toThrow(/storePacing.retries/);
  });
});

describe('DhtNode put under the per-peer store limit', () => {
  it('an honest burst of 40 puts is paced: every put reaches all k replicas', async () => {
    const { burst, sum, clock } = await network(12, {});
    const t0 = clock.now();
    const results = await burst();
    expect(results.filter((r) => r.short)).toEqual([]);
    expect(results.every((r) => r.accepted === 10 && r.wanted === 10)).toBe(true);
    expect(sum('quicmesh_dht_puts_total', { kind: 'content', result: 'complete' })).toBe(40);
    expect(sum('quicmesh_dht_store_refusals_total')).toBe(0);
    // Paced inside the limit (3 s a token after a burst of 20), not all at once: most nodes hold
    // over 30 of the 40 keys, so the burst takes more than half a minute of virtual time.
    expect(clock.now() - t0).toBeGreaterThan(30_000);
  });

  it('without pacing the same burst comes back short, and says so in the result and the metrics', async () => {
    const { burst, sum } = await network(12, { storePacing: false });
    const results = await burst();
    const short = results.filter((r) => r.short);
    expect(short.length).toBeGreaterThan(0);
    for (const r of short) {
      expect(r.accepted).toBeLessThan(r.wanted);
      expect(r.acks.some((a) => a.rejection === 'RateLimited')).toBe(true);
    }
    const shortOrNone = sum('quicmesh_dht_puts_total', { result: 'short' }) + sum('quicmesh_dht_puts_total', { result: 'none' });
    expect(shortOrNone).toBe(short.length);
    expect(sum('quicmesh_dht_store_refusals_total', { reason: 'RateLimited' })).toBeGreaterThan(0);
  });

  it('retries a store refused as RateLimited (a remote stricter than the writer assumes), then reports it', async () => {
    const { burst, sum } = await network(12, {}, { storageLimits: { perPeerRatePerMinute: 5, perPeerBurst: 5 } });
    const results = await burst();
    expect(sum('quicmesh_dht_store_retries_total')).toBeGreaterThan(0);
    const refused = results.flatMap((r) => r.acks).filter((a) => a.rejection === 'RateLimited').length;
    expect(sum('quicmesh_dht_store_refusals_total', { reason: 'RateLimited' })).toBe(refused);
    expect(results.some((r) => r.short)).toBe(true);
  });
});
