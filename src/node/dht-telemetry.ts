/**
 * Exports the DHT's telemetry snapshot (tiers, pressure, stored keys) as per-node Prometheus
 * gauges, refreshed on the node's clock. Kept beside the composition root rather than inside the
 * DHT so simulated nodes, which never scrape, pay nothing for it.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { TelemetrySnapshot } from '../dht/index.js';
import type { Metrics } from '../metrics/metrics.js';
import { MAX_LATENCY_TIERS } from '../constants.js';

/** How often the gauges follow the snapshot; a lab scrapes every 1–2 s. */
export const DHT_TELEMETRY_INTERVAL_MS = 1_000;

export interface DhtTelemetrySource {
  telemetrySnapshot(): TelemetrySnapshot;
}

/** Start mirroring `dht.telemetrySnapshot()` into gauges; returns a stop function. */
export function exportDhtTelemetry(
  dht: DhtTelemetrySource,
  metrics: Metrics,
  clock: Clock,
  intervalMs = DHT_TELEMETRY_INTERVAL_MS,
): () => void {
  const tiers = metrics.gauge('quicmesh_dht_tiers', 'Number of latency tiers k-means currently finds (1..7).');
  const centroid = metrics.gauge(
    'quicmesh_dht_tier_centroid_seconds',
    'RTT centroid of each latency tier, fastest first.',
    ['tier'],
  );
  const members = metrics.gauge('quicmesh_dht_tier_members', 'Contacts assigned to each latency tier.', ['tier']);
  const pressure = metrics.gauge('quicmesh_dht_storage_pressure', 'Storage pressure 0..1.');
  const stored = metrics.gauge('quicmesh_dht_stored_keys', 'Values held in local storage.');

  const update = (): void => {
    const s = dht.telemetrySnapshot();
    tiers.set(s.tierCentroids.length);
    // Every possible tier label is written, so a tier that disappears reads 0 rather than going stale.
    for (let t = 0; t < MAX_LATENCY_TIERS; t++) {
      const label = { tier: String(t) };
      centroid.set((s.tierCentroids[t] ?? 0) / 1000, label);
      members.set(s.tierCounts[t] ?? 0, label);
    }
    pressure.set(s.pressure);
    stored.set(s.storedKeys);
  };

  let timer: TimerHandle | undefined;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    update();
    timer = clock.setTimer(intervalMs, tick);
  };
  tick();
  return () => {
    stopped = true;
    timer?.cancel();
  };
}
