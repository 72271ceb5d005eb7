/**
 * Every named limit of the spec, with its unit. Options elsewhere default to these.
 */

// --- DHT -------------------------------------------------------------------------------------
/** Default bucket size / replication factor. */
export const K_DEFAULT = 20;
export const K_MIN = 10;
export const K_MAX = 30;
/** Default lookup parallelism. */
export const ALPHA_DEFAULT = 3;
export const ALPHA_MIN = 2;
export const ALPHA_MAX = 5;
/** Bits in a NodeId, and so buckets in the routing table. */
export const ID_BITS = 256;
export const BUCKET_COUNT = 256;

// --- Tiering ---------------------------------------------------------------------------------
export const MIN_LATENCY_TIERS = 1;
export const MAX_LATENCY_TIERS = 7;
/** ms between k-means recomputations. */
export const TIERING_RECOMPUTE_INTERVAL_MS = 5 * 60_000;
/** ms after start of the first clustering, so tiers exist before the first full interval. */
export const TIERING_FIRST_RECOMPUTE_MS = 10_000;
/** ms after which a contact's tiering data is dropped if unseen. */
export const TIERING_STALE_THRESHOLD_MS = 24 * 3_600_000;

// --- Storage ---------------------------------------------------------------------------------
/** Pressure (0..1) above which storage evicts. */
export const PRESSURE_THRESHOLD = 0.75;
export const LOCAL_STORE_MAX_ENTRIES = 100_000;
/** ms a stored value lives (per Kademlia). */
export const DEFAULT_TTL_MS = 24 * 3_600_000;
/** ms between expiry sweeps. */
export const EXPIRATION_CHECK_INTERVAL_MS = 60_000;
/** bytes */
export const MAX_VALUE_SIZE = 64 * 1024;
/** bytes stored on behalf of one remote peer */
export const PER_PEER_STORAGE_QUOTA = 1024 * 1024;
export const PER_PEER_ENTRY_LIMIT = 100;
/** Store requests per peer per minute. */
export const PER_PEER_RATE_LIMIT = 20;

// --- Transport -------------------------------------------------------------------------------
export const DHT_ALPN = 'quicmesh/dht/1';
/** Wire format version carried in every frame header. */
export const WIRE_VERSION = 1;
/** Largest frame accepted on the wire (bytes): a 64 KB value plus headroom. */
export const MAX_FRAME_SIZE = 128 * 1024;
/** ms: default deadline for one request/response exchange. */
export const REQUEST_TIMEOUT_MS = 5_000;
/** ms: QUIC idle timeout (the package default is infinite: a dead peer would never be noticed). */
export const QUIC_IDLE_TIMEOUT_MS = 10_000;
/** ms: QUIC keep-alive interval (must be well under the idle timeout and typical NAT UDP timeouts). */
export const QUIC_KEEPALIVE_INTERVAL_MS = 2_000;
/** QUIC requires client Initial datagrams of at least this size (anti-amplification). */
export const QUIC_MIN_INITIAL_SIZE = 1200;

// --- NAT traversal ---------------------------------------------------------------------------
/** ms to wait for a direct connection before falling back to a relay. */
export const DIRECT_CONNECT_TIMEOUT_MS = 5_000;
/** ms to wait for one address-discovery answer. */
export const STUN_TIMEOUT_MS = 3_000;
/** A relay must be this much faster (ms) than the direct path to be preferred. */
export const RELAY_PREFERENCE_MARGIN_MS = 50;
/** Relay score terms: score = rtt + load * LOAD_WEIGHT + tier * TIER_WEIGHT; RTT assumed when unknown. */
export const RELAY_UNKNOWN_RTT_MS = 200;
export const RELAY_LOAD_WEIGHT_MS = 100;
export const RELAY_TIER_WEIGHT_MS = 20;

// --- Publish/subscribe -----------------------------------------------------------------------
export const DEFAULT_MESH_DEGREE = 6;
export const DEFAULT_MESH_DEGREE_LOW = 4;
export const DEFAULT_MESH_DEGREE_HIGH = 12;
export const DEFAULT_MESSAGE_CACHE_SIZE = 10_000;
export const DEFAULT_MESSAGE_CACHE_TTL_MS = 2 * 60_000;
export const DEFAULT_GOSSIP_INTERVAL_MS = 1_000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1_000;
