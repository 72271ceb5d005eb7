/**
 * The versioned binary codec of every protocol message.
 *
 * Layout: [version u8 = WIRE_VERSION][tag u8 = MESSAGE_TAGS[type]][body], the body being the
 * message's fields in the fixed order of SCHEMAS below. Ids are 32 raw bytes; byte strings,
 * strings and lists carry a minimal varint length; integers are big-endian; booleans and
 * presence bytes are strictly 0/1. Every encoding is canonical: if a byte string decodes, it
 * re-encodes to exactly the same bytes.
 *
 * Decoding is strict and throws only DecodeError, whose `field` names the offending path (e.g.
 * `Nodes.nodes[3].addr`, `Publish.message.seqno`; `version` / `tag` for the header, `message` for
 * input over MAX_MESSAGE_BYTES, the bare type name (e.g. `FindNode`) for trailing bytes). Encoding
 * validates the same limits (plus `type` for an unknown type, the type name for an encoding over
 * MAX_MESSAGE_BYTES), so we never send what a peer would refuse.
 */
import { WIRE_VERSION } from '../constants.js';
import { DecodeError } from '../errors.js';
import { toDecodeError, WireFault } from './fault.js';
import {
  addr,
  bool,
  bytes,
  contact,
  enumeration,
  id32,
  list,
  netCoord,
  nullable,
  signature64,
  string,
  struct,
  trailing,
  u32,
  u64,
  type StructCodec,
} from './fields.js';
import {
  MAX_ADDRS,
  MAX_CONTACTS,
  MAX_ERROR_CODE_BYTES,
  MAX_FORWARDED_INITIAL_BYTES,
  MAX_IDS,
  MAX_MESSAGE_BYTES,
  MAX_MESSAGE_ID_BYTES,
  MAX_NONCE_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_SESSION_ID_BYTES,
  MAX_STORE_VALUE_BYTES,
  MAX_TEXT_BYTES,
  MAX_TOPIC_BYTES,
  MIN_FORWARDED_INITIAL_BYTES,
} from './limits.js';
import {
  MESSAGE_TAGS,
  type GossipMessage,
  type Message,
  type MessageOf,
  type MessageType,
  type StoreKind,
  type StoreRejection,
} from './messages.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

export * from './limits.js';

const contacts = list(contact, MAX_CONTACTS);
// Latency-aware DHT extension (see NetCoord in messages.ts): optional, at the end of the body.
const coord = trailing(netCoord);
const coords = trailing(list(nullable(netCoord), MAX_CONTACTS));
/** `coords` must have one entry per contact of the reply. */
function coordsMatch(m: { coords?: unknown[] }, contactList: unknown[], field: string): void {
  if (m.coords !== undefined && m.coords.length !== contactList.length) {
    throw new WireFault('coords', `${m.coords.length} coordinates for ${contactList.length} ${field}`);
  }
}
const addrs = list(addr, MAX_ADDRS);
const sessionId = bytes(1, MAX_SESSION_ID_BYTES);
const nonce = bytes(1, MAX_NONCE_BYTES);
const topic = string(1, MAX_TOPIC_BYTES);
const text = string(0, MAX_TEXT_BYTES);
const payload = bytes(0, MAX_PAYLOAD_BYTES);
// Hole punching extension (a forwarded QUIC Initial): optional, at the end of the body.
const forwardedInitial = trailing(bytes(MIN_FORWARDED_INITIAL_BYTES, MAX_FORWARDED_INITIAL_BYTES));
const messageIds = list(bytes(1, MAX_MESSAGE_ID_BYTES), MAX_IDS);
// Append-only: the index is the wire value.
const storeRejection = enumeration<StoreRejection>([
  'ValueTooLarge',
  'QuotaExceeded',
  'RateLimited',
  'InvalidKey',
  'Pressure',
]);
// Append-only: the index is the wire value.
const storeKind = enumeration<StoreKind>(['content', 'record', 'relay-info']);
// Append-only: the index is the wire value.
const natChange = enumeration<'address' | 'port'>(['address', 'port']);

const gossipMessage = struct<GossipMessage>({
  topic,
  source: id32,
  seqno: u64,
  data: payload,
  signature: signature64,
});

type Body<T extends MessageType> = Omit<MessageOf<T>, 'type'>;
const SCHEMAS: { readonly [T in MessageType]: StructCodec<Body<T>> } = {
  // DHT
  Ping: struct({ from: contact, coord }),
  FindNode: struct({ from: contact, target: id32, coord }),
  FindValue: struct({ from: contact, key: id32, coord }),
  Store: struct({ from: contact, key: id32, value: bytes(0, MAX_STORE_VALUE_BYTES), kind: storeKind, coord }),
  Nodes: struct<Body<'Nodes'>>({ nodes: contacts, coord, coords }, (m) => coordsMatch(m, m.nodes, 'nodes')),
  Value: struct<Body<'Value'>>({ value: nullable(bytes(0, MAX_STORE_VALUE_BYTES)), closer: contacts, coord, coords }, (m) =>
    coordsMatch(m, m.closer, 'closer'),
  ),
  Ack: struct({ rejection: nullable(storeRejection), coord }),
  // NAT traversal
  WhatIsMyAddr: struct({ from: contact }),
  YourAddr: struct({ addr }),
  RelayConnect: struct({ from: contact, target: id32, sessionId }),
  RelayAccepted: struct({ sessionId }),
  RelayConnected: struct({ sessionId, peer: contact }),
  RelayRejected: struct({ sessionId, reason: text }),
  RelayForward: struct({ from: contact, sessionId, payload }),
  RelayForwarded: struct({ sessionId, delivered: bool }),
  RelayClose: struct({ from: contact, sessionId }),
  RelayClosed: struct({ sessionId }),
  HolePunchRegister: struct({ from: contact, target: id32, addrs }),
  HolePunchWaiting: struct({ target: id32 }),
  HolePunchReady: struct({ peer: contact, peerAddrs: addrs, delayMs: u32, initial: forwardedInitial }),
  HolePunchStart: struct({ from: contact, target: id32, addrs, initial: forwardedInitial }),
  HolePunchFailed: struct({ target: id32, reason: text }),
  NatTest: struct({ from: contact, change: natChange, nonce, replyTo: nullable(addr) }),
  NatTestAck: struct({ nonce, accepted: bool }),
  // Path probing
  PathProbe: struct({ from: contact, nonce }),
  PathReply: struct({ nonce, observedAddr: addr }),
  ReachMe: struct({ from: contact, addrs }),
  IceCheck: struct({ from: contact, txId: nonce, priority: u32, useCandidate: bool, controlling: bool }),
  // Publish/subscribe
  Subscribe: struct({ from: contact, topic }),
  Unsubscribe: struct({ from: contact, topic }),
  Graft: struct({ from: contact, topic }),
  Prune: struct({ from: contact, topic, peers: contacts, backoffMs: u32 }),
  Publish: struct({ from: contact, message: gossipMessage }),
  IHave: struct({ from: contact, topic, ids: messageIds }),
  IWant: struct({ from: contact, ids: messageIds }),
  // Generic
  Error: struct({ code: string(1, MAX_ERROR_CODE_BYTES), message: text }),
};

const TYPE_BY_TAG: (MessageType | undefined)[] = new Array<MessageType | undefined>(256).fill(undefined);
for (const [type, tag] of Object.entries(MESSAGE_TAGS) as [MessageType, number][]) TYPE_BY_TAG[tag] = type;

// One scratch buffer for all encodes: encoding is synchronous and never re-entered.
const writer = new Writer(4096);

/** Encode `msg`; throws DecodeError naming the field when it breaks a wire rule. */
export function encodeMessage(msg: Message): Uint8Array {
  const type = (msg as { type?: unknown } | null)?.type;
  const schema =
    typeof type === 'string' && Object.hasOwn(SCHEMAS, type) ? SCHEMAS[type as MessageType] : undefined;
  if (schema === undefined) throw new DecodeError('type', `unknown message type ${String(type)}`);
  writer.reset();
  writer.u8(WIRE_VERSION);
  writer.u8(MESSAGE_TAGS[type as MessageType]);
  try {
    (schema as StructCodec<unknown>).write(writer, msg);
  } catch (e) {
    throw toDecodeError(e, type as string);
  }
  if (writer.length > MAX_MESSAGE_BYTES) {
    throw new DecodeError(type as string, `encoded size ${writer.length} exceeds ${MAX_MESSAGE_BYTES} bytes`);
  }
  return writer.finish();
}

/** Decode one message (exactly the bytes of one frame payload). Throws only DecodeError. */
export function decodeMessage(bytes: Uint8Array): Message {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('message', 'expected bytes');
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new DecodeError('message', `${bytes.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  }
  if (bytes.length < 1) throw new DecodeError('version', 'truncated: empty message');
  if (bytes[0] !== WIRE_VERSION)
    throw new DecodeError('version', `unsupported wire version ${bytes[0]}, expected ${WIRE_VERSION}`);
  if (bytes.length < 2) throw new DecodeError('tag', 'truncated: no message tag');
  const type = TYPE_BY_TAG[bytes[1]!];
  if (type === undefined)
    throw new DecodeError('tag', `unknown message tag 0x${bytes[1]!.toString(16).padStart(2, '0')}`);
  const r = new Reader(bytes.subarray(2));
  const out: Record<string, unknown> = { type };
  try {
    SCHEMAS[type].readInto(r, out);
  } catch (e) {
    throw toDecodeError(e, type);
  }
  if (r.remaining > 0) throw new DecodeError(type, `${r.remaining} trailing bytes`);
  return out as unknown as Message;
}
