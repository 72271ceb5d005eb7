/**
 * Every protocol message of the spec's three tables (DHT, NAT traversal, publish/subscribe) plus
 * path probing, as a discriminated union on `type`. Requests carry `from`, the sender's contact,
 * which the node checks against the TLS-verified NodeId before dispatch (Sybil protection).
 *
 * The binary encoding lives in codec.ts; the numeric tag of each type is fixed in MESSAGE_TAGS
 * and must never be reused.
 */
import type { Contact, Identity, Key, NodeId } from '../core/types.js';

/** Why a node refused a Store. */
export type StoreRejection = 'ValueTooLarge' | 'QuotaExceeded' | 'RateLimited' | 'InvalidKey' | 'Pressure';

// --- DHT -------------------------------------------------------------------------------------
/**
 * A Vivaldi network coordinate (src/tiering/vivaldi.ts): 2-D position and height in ms, and the
 * sender's relative error estimate. On the wire each number is a float32, bounded (limits.ts).
 */
export interface NetCoord { x: number; y: number; height: number; error: number }
/**
 * Latency-aware DHT extension (all optional, absent when the sender runs without tiering; an
 * absent field costs no bytes): `coord` is the sender's own coordinate; in replies, `coords[i]`
 * is the coordinate the replier last heard `nodes[i]` / `closer[i]` report for itself (null when
 * unknown). `coords` requires `coord` and has one entry per contact.
 */
export interface Ping { type: 'Ping'; from: Contact; coord?: NetCoord }
/** DHT request: the contacts the receiver knows closest to `target`. */
export interface FindNode { type: 'FindNode'; from: Contact; target: NodeId; coord?: NetCoord }
/** DHT request: the value under `key`, or the closest contacts when not held. */
export interface FindValue { type: 'FindValue'; from: Contact; key: Key; coord?: NetCoord }
/**
 * `kind` says how the key is checked: content-addressed (key = BLAKE3(value)), a signed endpoint
 * record, or a signed RelayInfo (src/nat/relay/relay-info.ts) under its relay's key or directory slot.
 */
export type StoreKind = 'content' | 'record' | 'relay-info';
/** DHT request: keep `value` under `key` (checked as `kind` says). */
export interface Store { type: 'Store'; from: Contact; key: Key; value: Uint8Array; kind: StoreKind; coord?: NetCoord }
/** Reply to FindNode (and to a join's lookups): the closest contacts known. */
export interface Nodes { type: 'Nodes'; nodes: Contact[]; coord?: NetCoord; coords?: (NetCoord | null)[] }
/** Reply to FindValue: the value when held, else the closer contacts. */
export interface Value { type: 'Value'; value: Uint8Array | null; closer: Contact[]; coord?: NetCoord; coords?: (NetCoord | null)[] }
/** Positive or negative acknowledgement; a refused Store names its reason. */
export interface Ack { type: 'Ack'; rejection: StoreRejection | null; coord?: NetCoord }

// --- NAT traversal ---------------------------------------------------------------------------
/** Asks the receiver which address (host:port) this request came from; answered by YourAddr. */
export interface WhatIsMyAddr { type: 'WhatIsMyAddr'; from: Contact }
/** The reflexive address ("host:port") the answering node saw the request come from. */
export interface YourAddr { type: 'YourAddr'; addr: string }

/** Asks a relay for a session to `target` (relayed connection set-up). */
export interface RelayConnect { type: 'RelayConnect'; from: Contact; target: NodeId; sessionId: Uint8Array }
/** The relay took the session and is waiting for the target. */
export interface RelayAccepted { type: 'RelayAccepted'; sessionId: Uint8Array }
/** The relay joined both sides of the session; `peer` is the other side. */
export interface RelayConnected { type: 'RelayConnected'; sessionId: Uint8Array; peer: Contact }
/** The relay refused the session; `reason` says why. */
export interface RelayRejected { type: 'RelayRejected'; sessionId: Uint8Array; reason: string }
/** Sends `payload` through a relay session to the other side. */
export interface RelayForward { type: 'RelayForward'; from: Contact; sessionId: Uint8Array; payload: Uint8Array }
/** Whether the relay passed a RelayForward's payload on. */
export interface RelayForwarded { type: 'RelayForwarded'; sessionId: Uint8Array; delivered: boolean }
/** Ends a relay session. */
export interface RelayClose { type: 'RelayClose'; from: Contact; sessionId: Uint8Array }
/** The relay ended the session. */
export interface RelayClosed { type: 'RelayClosed'; sessionId: Uint8Array }

/** Registers at a rendezvous for a punch with `target`, offering our addresses. */
export interface HolePunchRegister { type: 'HolePunchRegister'; from: Contact; target: NodeId; addrs: string[] }
/** The rendezvous has our registration and waits for the target's. */
export interface HolePunchWaiting { type: 'HolePunchWaiting'; target: NodeId }
/**
 * Both sides are registered: punch `peerAddrs` starting `delayMs` after receipt. `initial`: the
 * initiator's forwarded QUIC Initial (see HolePunchStart), only in the target's copy.
 */
export interface HolePunchReady { type: 'HolePunchReady'; peer: Contact; peerAddrs: string[]; delayMs: number; initial?: Uint8Array }
/**
 * Asks the target (through the rendezvous) to start punching toward `addrs`. `initial` (optional,
 * at the end): the first datagram of our QUIC dial to the target, a v1 Initial the target takes as
 * if it had come from our observed address, so its answer punches its NAT and reaches us a round
 * trip sooner than our own next Initial would get in.
 */
export interface HolePunchStart { type: 'HolePunchStart'; from: Contact; target: NodeId; addrs: string[]; initial?: Uint8Array }
/** The rendezvous could not arrange the punch; `reason` says why. */
export interface HolePunchFailed { type: 'HolePunchFailed'; target: NodeId; reason: string }
/**
 * NAT filtering test (RFC 5780 style): send a raw NAT-test datagram (src/nat/raw-packets.ts,
 * carrying `nonce` and the requester's observed address) to `replyTo` — or, when null, to the
 * address this request came from — from another port of ours ('port') or from a partner host
 * ('address'; the server forwards this request to its partner with `replyTo` filled in, and a
 * partner honours `replyTo` only from its configured servers).
 */
export interface NatTest { type: 'NatTest'; from: Contact; change: 'address' | 'port'; nonce: Uint8Array; replyTo: string | null }
/** `accepted` false: no second port / no partner here (the detector then reports 'unknown'). */
export interface NatTestAck { type: 'NatTestAck'; nonce: Uint8Array; accepted: boolean }

// --- Path probing (spec: PathProbe, PathReply, ReachMe) --------------------------------------
/** Checks a path: answered by PathReply with the same nonce and the address it came from. */
export interface PathProbe { type: 'PathProbe'; from: Contact; nonce: Uint8Array }
/** Answer to PathProbe or IceCheck: the nonce, and the address the probe came from. */
export interface PathReply { type: 'PathReply'; nonce: Uint8Array; observedAddr: string }
/** Asks a peer to dial us at `addrs` (a reverse connection through our NAT). */
export interface ReachMe { type: 'ReachMe'; from: Contact; addrs: string[] }
/** ICE connectivity check (src/nat/ice.ts), answered by PathReply{nonce: txId, observedAddr}. */
export interface IceCheck {
  type: 'IceCheck';
  from: Contact;
  txId: Uint8Array;
  /** Priority a peer-reflexive candidate learned from this check gets. */
  priority: number;
  useCandidate: boolean;
  controlling: boolean;
}

// --- Publish/subscribe (GossipSub) -----------------------------------------------------------
/** A signed pubsub message: `source` is the author's Ed25519 public key, `signature` covers the rest. */
export interface GossipMessage {
  topic: string;
  source: Identity;
  seqno: bigint;
  data: Uint8Array;
  signature: Uint8Array;
}
/** Pubsub: the sender subscribed to `topic`. */
export interface Subscribe { type: 'Subscribe'; from: Contact; topic: string }
/** Pubsub: the sender left `topic`. */
export interface Unsubscribe { type: 'Unsubscribe'; from: Contact; topic: string }
/** GossipSub: the sender adds the receiver to its mesh for `topic`. */
export interface Graft { type: 'Graft'; from: Contact; topic: string }
/** GossipSub: the sender drops the receiver from its mesh for `topic` (with peers to try instead and a back-off). */
export interface Prune { type: 'Prune'; from: Contact; topic: string; peers: Contact[]; backoffMs: number }
/** Pubsub: a signed message, pushed along the mesh. */
export interface Publish { type: 'Publish'; from: Contact; message: GossipMessage }
/** GossipSub gossip: ids of recent messages on `topic` the sender holds. */
export interface IHave { type: 'IHave'; from: Contact; topic: string; ids: Uint8Array[] }
/** GossipSub: asks for the full messages with these ids. */
export interface IWant { type: 'IWant'; from: Contact; ids: Uint8Array[] }

// --- Generic ---------------------------------------------------------------------------------
/** A request could not be served; `code` is machine-readable (e.g. 'IdentityMismatch', 'BadRequest'). */
export interface ErrorReply { type: 'Error'; code: string; message: string }

/** Every request message (the sender's contact in `from`). */
export type Request =
  | Ping | FindNode | FindValue | Store
  | WhatIsMyAddr | RelayConnect | RelayForward | RelayClose | HolePunchRegister | HolePunchStart | NatTest
  | PathProbe | ReachMe | IceCheck
  | Subscribe | Unsubscribe | Graft | Prune | Publish | IHave | IWant;

/** Every reply message. */
export type Response =
  | Nodes | Value | Ack
  | YourAddr | RelayAccepted | RelayConnected | RelayRejected | RelayForwarded | RelayClosed
  | HolePunchWaiting | HolePunchReady | HolePunchFailed | NatTestAck
  | PathReply
  | ErrorReply;

/** Any response except an Error reply (a node's `request` throws those as RemoteError). */
export type SuccessResponse = Exclude<Response, ErrorReply>;

/** Any protocol message, discriminated by `type`. */
export type Message = Request | Response;
/** The `type` of any message. */
export type MessageType = Message['type'];
/** The `type` of any request. */
export type RequestType = Request['type'];

/** The request with a given `type`. */
export type RequestOf<T extends RequestType> = Extract<Request, { type: T }>;
/** The message with a given `type`. */
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

/** Wire tags: stable numbers, grouped by table. Never renumber; add at the end of a group. */
export const MESSAGE_TAGS: Readonly<Record<MessageType, number>> = {
  Ping: 0x01, FindNode: 0x02, FindValue: 0x03, Store: 0x04, Nodes: 0x05, Value: 0x06, Ack: 0x07,
  WhatIsMyAddr: 0x20, YourAddr: 0x21,
  RelayConnect: 0x22, RelayAccepted: 0x23, RelayConnected: 0x24, RelayRejected: 0x25,
  RelayForward: 0x26, RelayForwarded: 0x27, RelayClose: 0x28, RelayClosed: 0x29,
  HolePunchRegister: 0x2a, HolePunchWaiting: 0x2b, HolePunchReady: 0x2c, HolePunchStart: 0x2d, HolePunchFailed: 0x2e,
  NatTest: 0x2f, NatTestAck: 0x34,
  PathProbe: 0x30, PathReply: 0x31, ReachMe: 0x32, IceCheck: 0x33,
  Subscribe: 0x40, Unsubscribe: 0x41, Graft: 0x42, Prune: 0x43, Publish: 0x44, IHave: 0x45, IWant: 0x46,
  Error: 0x7f,
};

const REQUEST_TYPES: ReadonlySet<string> = new Set<RequestType>([
  'Ping', 'FindNode', 'FindValue', 'Store', 'WhatIsMyAddr', 'RelayConnect', 'RelayForward', 'RelayClose',
  'HolePunchRegister', 'HolePunchStart', 'NatTest', 'PathProbe', 'ReachMe', 'IceCheck',
  'Subscribe', 'Unsubscribe', 'Graft', 'Prune', 'Publish', 'IHave', 'IWant',
]);

/** True when `msg` is a request (it expects a reply). */
export function isRequest(msg: Message): msg is Request {
  return REQUEST_TYPES.has(msg.type);
}
