/** The router's input and output vocabulary. */
import type { Contact } from '../core/types.js';
import type { Graft, IHave, IWant, Prune, Publish, Subscribe, Unsubscribe } from '../wire/messages.js';
import type { ReceivedMessage } from './message.js';

/** The wire messages the pubsub router speaks. */
export type PubsubRpc = Subscribe | Unsubscribe | Graft | Prune | Publish | IHave | IWant;
export type PubsubRpcType = PubsubRpc['type'];
export const PUBSUB_RPC_TYPES: readonly PubsubRpcType[] = [
  'Subscribe', 'Unsubscribe', 'Graft', 'Prune', 'Publish', 'IHave', 'IWant',
];

/** Every penalty reason, in metric-label order. */
export const PENALTY_REASONS = ['invalid_signature', 'malformed', 'rate_exceeded', 'broken_promise', 'backoff_violation'] as const;
/** Why a pubsub peer was penalised. */
export type PenaltyReason = (typeof PENALTY_REASONS)[number];

/** What the router asks its driver to do. */
export type GossipEffect =
  /** Send `msg` to `to` (one-way; loss is repaired by the protocol). */
  | { kind: 'send'; to: Contact; msg: PubsubRpc }
  /** Hand a new, verified message of a subscribed topic to the application. `from` relayed it. */
  | { kind: 'deliver'; message: ReceivedMessage; from: Contact }
  /** A peer's score dropped; `graylisted` when it is now ignored. */
  | { kind: 'penalise'; peer: Contact; reason: PenaltyReason; score: number; graylisted: boolean }
  /** Call `poll()` at (or after) time `at`. */
  | { kind: 'wake'; at: number };

/** Where a GossipRouter sends its effects. */
export type EffectSink = (effect: GossipEffect) => void;
