/** The DHT's own per-node metrics (names in docs/metrics.md), registered through the injected Metrics. */
import type { Counter, Gauge, Histogram, Metrics } from '../metrics/metrics.js';

const ROUND_BUCKETS = [1, 2, 3, 4, 5, 6, 8, 10, 15, 20];
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface DhtMetrics {
  k: Gauge;
  alpha: Gauge;
  tableSize: Gauge;
  lookups: Counter;
  rounds: Histogram;
  duration: Histogram;
  puts: Counter;
  storeRefusals: Counter;
  storeRetries: Counter;
}

export function createDhtMetrics(metrics: Metrics): DhtMetrics {
  return {
    k: metrics.gauge('quicmesh_dht_k', 'Current replication factor / bucket size k'),
    alpha: metrics.gauge('quicmesh_dht_alpha', 'Current lookup parallelism alpha'),
    tableSize: metrics.gauge('quicmesh_dht_routing_table_size', 'Contacts in the routing table'),
    lookups: metrics.counter('quicmesh_dht_lookups_total', 'Iterative lookups, by kind and result', ['kind', 'result']),
    rounds: metrics.histogram('quicmesh_dht_lookup_rounds', 'Rounds (causal depth) of finished lookups', [], ROUND_BUCKETS),
    duration: metrics.histogram('quicmesh_dht_lookup_duration_seconds', 'Duration of finished lookups', [], DURATION_BUCKETS),
    puts: metrics.counter('quicmesh_dht_puts_total', 'Finished stores (puts, records), by kind and whether every replica asked for accepted', ['kind', 'result']),
    storeRefusals: metrics.counter('quicmesh_dht_store_refusals_total', 'Store requests a remote node refused or that failed, by reason', ['reason']),
    storeRetries: metrics.counter('quicmesh_dht_store_retries_total', 'Store requests re-sent to the same node after a RateLimited refusal'),
  };
}
