/**
 * Options and result types of DhtNode (split out of dht-node.ts to keep files small). See the
 * comment at the top of dht-node.ts for how a DhtNode is built and driven.
 */
import type { Contact, NodeId, Key } from '../core/types.js';
import type { EndpointRecord } from '../identity/endpoint-record.js';
import type { StorePacing } from './store-pacer.js';
import type { StorageLimits } from '../storage/protected-store.js';
import type { LatencyTieringOptions } from '../tiering/latency-tiering.js';
import type { StoreRejection } from '../wire/messages.js';
import type { DhtStorage } from './handlers.js';
import type { LookupResult } from './lookup.js';
import type { RpcEndpoint } from './rpc.js';
import type { Components } from '../core/components.js';

/** ms between maintenance ticks (bucket refresh check, adaptive k, gauges). */
export const MAINTENANCE_INTERVAL_MS = 60_000;
/** Refresh lookups started per maintenance tick at most (they run one after another). */
export const MAX_REFRESH_LOOKUPS_PER_TICK = 8;

/** The part of LatencyTiering (src/tiering) the DHT uses. */
export interface DhtTiering {
  recordRtt(id: NodeId, rttMs: number): void;
  tierOf(id: NodeId): number | undefined;
  recompute(): void;
  snapshot(): { centroids: number[]; counts: number[] };
  dropStale(): void;
  /** Tiers in the current model; when present and below 2, lookups skip tier ordering (nothing to prefer). */
  readonly tierCount?: number;
  /** Centre (ms) of the fastest tier, when the model has one: what a fast answer takes. */
  readonly fastestTierMs?: number;
  /** Tier an RTT would fall into under the current model (for proximity neighbour selection). */
  tierOfRtt?(rttMs: number): number | undefined;
  /** The smoothed RTT (ms) measured to a contact, when known. */
  rttOf?(id: NodeId): number | undefined;
}

/** DhtNode options: k, α, storage limits, tiering and maintenance. */
export interface DhtNodeOptions {
  /** Initial k (replication factor, bucket size); default K_DEFAULT. */
  k?: number;
  /** Initial α (lookup parallelism); default ALPHA_DEFAULT. */
  alpha?: number;
  /** Let k follow the churn rate (default true). */
  adaptiveK?: boolean;
  /** Let α follow the lookup success rate (default true). */
  adaptiveAlpha?: boolean;
  /** Deadline of one RPC (ms); default REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number;
  /** After this (ms) an unanswered lookup query frees its parallelism slot; default LOOKUP_PEER_TIMEOUT_MS. */
  lookupPeerTimeoutMs?: number;
  /**
   * Latency-aware DHT (default true): fast tiers first among the closest lookup candidates,
   * slot release for slow queries, proximity neighbour selection in the routing table.
   */
  tierAware?: boolean;
  /** With tierAware: let lookup queries slower than the fastest tier yield their slot (default true). */
  tierSlotRelease?: boolean;
  /** Run maintenance timers (default true). */
  maintenance?: boolean;
  maintenanceIntervalMs?: number;
  /** Bucket refresh interval (ms); default BUCKET_REFRESH_INTERVAL_MS. */
  refreshIntervalMs?: number;
  replacementCacheSize?: number;
  /** A full bucket's head heard from within this many ms is not pinged; default PING_FRESHNESS_MS. */
  pingFreshnessMs?: number;
  /** Own storage pressure (0..1) from which stores spill to slower tiers; default PRESSURE_THRESHOLD. */
  spillPressure?: number;
  storageLimits?: Partial<StorageLimits>;
  /**
   * Pace our Store requests to each remote node inside its per-peer limit, and retry a store it
   * refused as RateLimited when the pace allows (default: on, at the spec's limit, see
   * store-pacer.ts). `false`: send at once and report refusals only.
   */
  storePacing?: false | Partial<StorePacing>;
  tieringOptions?: LatencyTieringOptions;
  /**
   * Add contacts named in FindNode/FindValue replies to free routing-table slots (default true).
   * They sit at the bucket head as never-seen, so they are the first pinged or replaced; one failed
   * request evicts them. Fills tables much faster than learning only from direct contact.
   */
  learnFromReplies?: boolean;
  /** Use this store instead of a new ProtectedStore. */
  storage?: DhtStorage;
  /** Use this tiering instead of a new LatencyTiering. */
  tiering?: DhtTiering;
}

/** What a DhtNode is built from: its RPC endpoint, components and options. */
export interface DhtNodeInit {
  rpc: RpcEndpoint;
  components: Components;
  options?: DhtNodeOptions;
}

/** Per-lookup overrides of k, α and the starting contacts. */
export interface LookupOverrides {
  k?: number;
  alpha?: number;
  /** Start from these instead of the routing table's closest. */
  seeds?: Contact[];
}

/** Options of DhtNode.findValue: which values to believe, and lookup overrides. */
export interface FindValueOptions extends LookupOverrides {
  /** Which values to believe; default: key = BLAKE3(value), or a valid endpoint record or RelayInfo for the key. */
  validate?: (value: Uint8Array) => boolean;
  /** Answer from our own store when we hold the key (default true). */
  checkLocal?: boolean;
}

/** One node's answer to a Store: stored, or why not. */
export interface StoreAck {
  contact: Contact;
  /** null: stored. */
  rejection: StoreRejection | null;
  /** Set when the request itself failed (timeout, transport, remote error). */
  error?: string;
}

/** The outcome of a DHT put: the key, every node's answer and the lookup that chose them. */
export interface StoreResult {
  key: Key;
  /** One entry per Store sent, in completion order. */
  acks: StoreAck[];
  /** Replicas accepted by remote nodes. */
  accepted: number;
  /** Replicas asked for: k, or fewer when the lookup found fewer other nodes. */
  wanted: number;
  /**
   * True when fewer than `wanted` remote nodes accepted the value (refused or unreachable even
   * after the retries; `acks` says why). The value may still be found, but is less protected.
   */
  short: boolean;
  /** null: we keep a copy too; a rejection: our own store refused; undefined: not among the closest. */
  local: StoreRejection | null | undefined;
  /** True when the replicas were steered to slower tiers because of local pressure. */
  spilled: boolean;
  lookup: LookupResult;
}

/** The outcome of publishing our endpoint record: a StoreResult plus the record. */
export interface PublishResult extends StoreResult {
  record: EndpointRecord;
}

/** Options of the DHT join (DhtNode.bootstrap). */
export interface BootstrapOptions {
  /** Refresh the buckets above our closest neighbour after the self-lookup (default true). */
  refresh?: boolean;
  /** Cap on those refresh lookups (default: all of them). */
  maxRefreshLookups?: number;
}

/** The outcome of the DHT join: seeds contacted, the self-lookup and the routing table size. */
export interface BootstrapResult {
  /** Seeds that answered. */
  contacted: number;
  selfLookup: LookupResult | undefined;
  refreshLookups: number;
  routingTableSize: number;
}

/** The DHT's state for telemetry: latency tiers, storage pressure, stored keys, k and α. */
export interface TelemetrySnapshot {
  tierCentroids: number[];
  tierCounts: number[];
  pressure: number;
  storedKeys: number;
  replicationFactor: number;
  concurrency: number;
  routingTableSize: number;
}
