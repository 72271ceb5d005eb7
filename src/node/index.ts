/** The node layer: request dispatch, MeshNode, and the composition root. */
export {
  RequestRouter,
  errorReply,
  type RequestHandler,
  type NotifyHandler,
  type ServedResult,
  type RequestRouterOptions,
} from './dispatch.js';
export {
  MeshNode,
  type MeshNodeOptions,
  type MeshService,
  type NodeStatus,
  type RequestResult,
  type SuccessResponse,
} from './mesh-node.js';
export { pingBootstrapPeers, type BootstrapResult } from './bootstrap.js';
export { createNode, type CreateNodeOptions, type NodeAssembly, type NodeServices } from './create-node.js';
export {
  PubsubPeerFeed,
  DEFAULT_PUBSUB_MAX_PEERS,
  DEFAULT_PUBSUB_REFRESH_MS,
  DEFAULT_PUBSUB_RETRY_AFTER_MS,
  type ContactSource,
  type FeedRefresh,
  type PeerSink,
  type PubsubPeerFeedOptions,
} from './pubsub-peers.js';
export {
  RelayInfoPublisher,
  RELAY_INFO_CHECK_MS,
  RELAY_INFO_INTERVAL_MS,
  RELAY_INFO_JITTER,
  RELAY_INFO_LOAD_DELTA,
  type RelayInfoPublisherOptions,
  type RelayInfoPublisherStatus,
} from '../traversal/relay-info-publisher.js';
export { probePeer, type ProbeOptions, type ProbePath, type ProbeResult } from '../traversal/probe.js';
export {
  controlRoutes,
  parseConnectRequest,
  MAX_CONNECT_TIMEOUT_MS,
  type ConnectRequest,
  type ConnectResponse,
  type ControlOptions,
} from './control.js';
