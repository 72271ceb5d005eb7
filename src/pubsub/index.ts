/** Publish/subscribe: the GossipSub router (sans-IO), its driver, configuration and message helpers. */
export { GossipSub, type GossipSubOptions, type PubsubEndpoint } from './gossipsub.js';
export { GossipRouter, type GossipRouterOptions } from './router.js';
export { DEFAULT_GOSSIP_CONFIG, resolveGossipConfig, type GossipConfig, type GossipPenalties, type PushMode } from './config.js';
export { PubsubError, type PubsubErrorCode } from './errors.js';
export {
  memoizedVerifier,
  messageId,
  messageIdKey,
  messageIdOf,
  signMessage,
  signedBytes,
  verifyMessage,
  MESSAGE_ID_BYTES,
  type MessageId,
  type MessageVerifier,
  type ReceivedMessage,
} from './message.js';
export { MAX_TOPIC_LABELS, OTHER_TOPIC_LABEL } from './metrics.js';
export { PUBSUB_RPC_TYPES, type EffectSink, type GossipEffect, type PenaltyReason, type PubsubRpc } from './types.js';
