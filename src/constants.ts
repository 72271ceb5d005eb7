/**
 * Every named limit of the spec, with its unit. Options elsewhere default to these.
 */

// --- DHT -------------------------------------------------------------------------------------
/** Default bucket size / replication factor. */
export const K_DEFAULT = 20;
/** Smallest k the adaptive bucket size goes down to. */
export const K_MIN = 10;
/** Largest k the adaptive bucket size goes up to (under churn). */
export const K_MAX = 30;
/** Default lookup parallelism. */
export const ALPHA_DEFAULT = 3;
/** Smallest lookup parallelism the adaptive α goes down to. */
export const ALPHA_MIN = 2;
/** Largest lookup parallelism the adaptive α goes up to. */
export const ALPHA_MAX = 5;
/** Bits in a NodeId, and so buckets in the routing table. */
export const ID_BITS = 256;
/** Buckets in the routing table (one per bit of a NodeId). */
export const BUCKET_COUNT = 256;

// --- Tiering ---------------------------------------------------------------------------------
/** Fewest latency tiers the clustering may choose. */
export const MIN_LATENCY_TIERS = 1;
/** Most latency tiers the clustering may choose. */
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
/** Entries the local store holds at most. */
export const LOCAL_STORE_MAX_ENTRIES = 100_000;
/** ms a stored value lives (per Kademlia). */
export const DEFAULT_TTL_MS = 24 * 3_600_000;
/** ms between expiry sweeps. */
export const EXPIRATION_CHECK_INTERVAL_MS = 60_000;
/** bytes */
export const MAX_VALUE_SIZE = 64 * 1024;
/** bytes stored on behalf of one remote peer */
export const PER_PEER_STORAGE_QUOTA = 1024 * 1024;
/** Entries stored on behalf of one remote peer at most. */
export const PER_PEER_ENTRY_LIMIT = 100;
/** Store requests per peer per minute. */
export const PER_PEER_RATE_LIMIT = 20;
/** Stores a peer may make at once before the per-minute pace applies (one minute's worth). */
export const PER_PEER_STORE_BURST = PER_PEER_RATE_LIMIT;

// --- Transport -------------------------------------------------------------------------------
/** The ALPN protocol name every quicmesh QUIC connection negotiates. */
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
/** Relay score: ms added per unit of reported load (0..1). */
export const RELAY_LOAD_WEIGHT_MS = 100;
/** Relay score: ms added per latency tier of the relay. */
export const RELAY_TIER_WEIGHT_MS = 20;

// --- Publish/subscribe -----------------------------------------------------------------------
/** GossipSub target mesh degree D (peers per topic mesh). */
export const DEFAULT_MESH_DEGREE = 6;
/** GossipSub D_low: below it the heartbeat grafts more peers. */
export const DEFAULT_MESH_DEGREE_LOW = 4;
/** GossipSub D_high: above it the heartbeat prunes peers. */
export const DEFAULT_MESH_DEGREE_HIGH = 12;
/** Messages kept in the pubsub message cache (for IWant answers and duplicate suppression). */
export const DEFAULT_MESSAGE_CACHE_SIZE = 10_000;
/** ms a message stays in the pubsub message cache. */
export const DEFAULT_MESSAGE_CACHE_TTL_MS = 2 * 60_000;
/** ms between IHave gossip rounds to peers outside the mesh. */
export const DEFAULT_GOSSIP_INTERVAL_MS = 1_000;
/** ms between GossipSub heartbeats (mesh maintenance: graft, prune, fanout expiry). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1_000;
