import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { TelemetrySnapshot } from '../../src/dht/index.js';
import { PromMetrics } from '../../src/metrics/prom.js';
import { exportDhtTelemetry } from '../../src/node/dht-telemetry.js';

function snapshot(over: Partial<TelemetrySnapshot>): TelemetrySnapshot {
  return {
    tierCentroids: [],
    tierCounts: [],
    pressure: 0,
    storedKeys: 0,
    replicationFactor: 20,
    concurrency: 3,
    routingTableSize: 0,
    ...over,
  };
}

describe('exportDhtTelemetry', () => {
  it('mirrors the snapshot into gauges on the clock and stops cleanly', async () => {
    const clock = new ManualClock();
    const metrics = new PromMetrics();
    let current = snapshot({ tierCentroids: [12, 80], tierCounts: [5, 3], pressure: 0.25, storedKeys: 7 });
    const stop = exportDhtTelemetry({ telemetrySnapshot: () => current }, metrics, clock, 1000);

    let text = await metrics.metricsText();
    expect(text).toContain('quicmesh_dht_tiers 2');
    expect(text).toContain('quicmesh_dht_tier_centroid_seconds{tier="0"} 0.012');
    expect(text).toContain('quicmesh_dht_tier_members{tier="1"} 3');
    expect(text).toContain('quicmesh_dht_tier_members{tier="2"} 0');
    expect(text).toContain('quicmesh_dht_storage_pressure 0.25');
    expect(text).toContain('quicmesh_dht_stored_keys 7');

    current = snapshot({ tierCentroids: [20], tierCounts: [9], storedKeys: 8 });
    clock.advance(1000);
    text = await metrics.metricsText();
    expect(text).toContain('quicmesh_dht_tiers 1');
    expect(text).toContain('quicmesh_dht_tier_members{tier="1"} 0');
    expect(text).toContain('quicmesh_dht_stored_keys 8');

    stop();
    expect(clock.pending).toBe(0);
  });
});
