/**
 * quicmesh's public API (`import … from 'quicmesh'`).
 *
 * Start with {@link createNode}: a node on a {@link QuicTransport} (or the in-memory
 * {@link MemoryNetwork}) with its services — the DHT ({@link DhtNode}), pubsub ({@link GossipSub}),
 * NAT traversal and relays. Every protocol module takes injected {@link Components} (clock, rng,
 * logger, metrics). The NAT traversal drivers a node runs ({@link SmartConnector}, {@link RelayService},
 * {@link RelayLink}, {@link RendezvousService}, {@link PunchDriver}) are exported as `node.services`
 * hands them out, and {@link startNatServices} adds NAT type detection to a node. The sans-IO cores
 * the drivers are built on (NAT detection, relays, hole punching, ICE-lite, path selection, GossipSub
 * routing, protected storage, latency tiering) are exported too, for other drivers. What is not
 * listed here is internal and may change without notice.
 * The lab's topology model is a separate entry point: `quicmesh/topology`.
 * @module quicmesh
 */
// core
export * from './core/types.js';
export * from './core/bytes.js';
export * from './core/clock.js';
export * from './core/rng.js';
export * from './core/logger.js';
export type { Components } from './core/components.js';
export {
  QuicmeshError,
  ConfigError,
  ProtocolError,
  DecodeError,
  IdentityError,
  TransportError,
  TimeoutError,
  AbortError,
  RemoteError,
} from './errors.js';
export * from './constants.js';

// identity
export * from './identity/index.js';

// wire
export * from './wire/messages.js';
export { encodeMessage, decodeMessage } from './wire/codec.js';
export * from './wire/framing.js';

// transport
export type * from './transport/transport.js';
export type * from './transport/paths.js';
export * from './transport/memory/index.js';
export {
  QuicTransport,
  QuicByteStream,
  type QuicConnection,
  type QuicTransportOptions,
} from './transport/quic/index.js';
export type { CongestionControl } from './transport/quic/config.js';
export type { HostPort } from './transport/quic/addr.js';
export * from './transport/capabilities.js';

// node: the composition root and its services
export * from './node/index.js';
export type { SmartConnectOptions } from './node/create-node.js';

// DHT
export {
  DhtNode,
  type DhtNodeOptions,
  type DhtNodeInit,
  type DhtTiering,
  type FindValueOptions,
  type LookupOverrides,
  type StoreAck,
  type StoreResult,
  type PublishResult,
  type BootstrapOptions as DhtBootstrapOptions,
  type BootstrapResult as DhtBootstrapResult,
  type TelemetrySnapshot,
  type LookupResult,
  type LookupStep,
  type LookupMode,
  type DiscoverRelaysOptions,
  type RelayInfoPublishResult,
  xorDistance,
  compareDistance,
  commonPrefixLength,
} from './dht/index.js';

// storage and latency tiering (the DHT's, usable on their own)
export {
  ProtectedStore,
  type PutOptions,
  type PeerUsage,
  type StorageStats,
  type StoredEntry,
  type StorageLimits,
} from './storage/protected-store.js';
export { DEFAULT_STORAGE_LIMITS } from './storage/limits.js';
export {
  LatencyTiering,
  type LatencyTieringOptions,
  type TieringSnapshot,
  type ContactKey,
} from './tiering/latency-tiering.js';

// pubsub
export {
  GossipSub,
  GossipRouter,
  DEFAULT_GOSSIP_CONFIG,
  PubsubError,
  type GossipSubOptions,
  type GossipRouterOptions,
  type GossipConfig,
  type GossipPenalties,
  type PushMode,
  type PubsubErrorCode,
  type PubsubEndpoint,
  type PubsubRpc,
  type GossipEffect,
  type EffectSink,
  type PenaltyReason,
  type MessageId,
  type MessageVerifier,
  type ReceivedMessage,
} from './pubsub/index.js';
export { PENALTY_REASONS } from './pubsub/types.js';

// NAT traversal cores (sans-IO)
export {
  detectNatType,
  classifyNat,
  type NatType,
  type NatBehaviour,
  type NatRule,
  type NatBehaviourSpec,
  type NatReport,
  type NatServer,
  type NatProbe,
  type MappingProbeId,
  type FilteringProbeId,
  type NatProbeResult,
  type NatProbeDriver,
  type DetectNatOptions,
  RelayServer,
  RelayClient,
  type RelayServerOptions,
  type RelayClientOptions,
  type RankedRelay,
  type RelayOutcome,
  type RelayEffect,
  type RelaySessionView,
  type RelayRejectReason,
  RELAY_REJECT,
  signRelayInfo,
  verifyRelayInfo,
  encodeRelayInfo,
  decodeRelayInfo,
  type RelayInfo,
  type SignedRelayInfo,
  type RelayCapabilities,
  HolePunchCoordinator,
  type HolePunchCoordinatorOptions,
  type PunchParty,
  type PunchEffect,
  type PunchOutcome,
  IceAgent,
  type IceAgentOptions,
  type IceRole,
  type IceCandidate,
  type CandidateType,
  type CandidatePair,
  type CheckState,
  type IceEffect,
} from './nat/index.js';

// NAT traversal drivers: the services createNode runs (node.services), and NAT detection on a node
export {
  type TraversalNode,
  SmartConnector,
  type SmartConnectorDeps,
  type SmartConnectorOptions,
  type ConnectTarget,
  type ConnectOptions as SmartConnectCallOptions,
  type ConnectOutcome,
  type ConnectPath,
  RelayService,
  type RelayServiceOptions,
  type RelayStatus,
  RelayLink,
  RelayTunnel,
  type RelayLinkOptions,
  type RelayPeerState,
  RelayRanking,
  type RelayRankingOptions,
  RendezvousService,
  type RendezvousOptions,
  PunchDriver,
  type PunchDriverOptions,
  type PunchResult,
  type PairView,
  type ProbeTarget,
  startNatServices,
  type NatServicesOptions,
  type NatServerConfig,
  type NatDetectConfig,
  type NatServices,
  NatTestServer,
  type NatTestServerOptions,
  type NatTestServerStatus,
  type NatTestNode,
  type AltSocket,
} from './traversal/index.js';

// connection cores (sans-IO)
export {
  PathProber,
  selectPath,
  SmartConnectPlan,
  ConnectionManager,
  type PathProberOptions,
  type PathStats,
  type PathState,
  type ProbeToSend,
  type SelectPathOptions,
  type SmartConnection,
  type SmartConnectTarget,
  type SmartConnectOptions as SmartConnectPlanOptions,
  type SmartInput,
  type SmartEffect,
  type SmartPhase,
  type ConnectionManagerOptions,
  type PeerEffect,
  type PeerStats,
  type PeerPathKind,
} from './connection/index.js';

// metrics
export * from './metrics/metrics.js';
export { PromMetrics, type PromMetricsOptions } from './metrics/prom.js';
export {
  startStatusServer,
  type StatusServer,
  type StatusServerOptions,
  type JsonRoute,
  type JsonRequest,
  type JsonResponse,
} from './metrics/http.js';
