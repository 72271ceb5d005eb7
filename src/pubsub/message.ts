/**
 * Signed pubsub messages: the canonical bytes an author signs, the message id, and the checks a
 * receiver runs before anything else (sizes, then signature).
 *
 * Signed bytes = DOMAIN || u16 topicLen || topic (UTF-8) || source (32) || seqno (u64 BE) ||
 * u32 dataLen || data. The domain prefix keeps a pubsub signature from ever being valid as any
 * other quicmesh signature (endpoint records, ...). Every field the receiver acts on is covered,
 * so a relay can neither forge a message nor alter one in flight.
 *
 * MessageId = source || seqno (40 bytes): unique per author as long as the author never reuses a
 * seqno (it starts from the clock, so a restart does not either), and free to compute.
 */
import { concatBytes, toHex } from '../core/bytes.js';
import type { Identity } from '../core/types.js';
import type { Keypair } from '../identity/keypair.js';
import { verifySignature } from '../identity/keypair.js';
import { MAX_IDS, MAX_MESSAGE_ID_BYTES, MAX_TOPIC_BYTES } from '../wire/limits.js';
import { PubsubError } from './errors.js';
import type { GossipMessage } from '../wire/messages.js';

/** Raw message id bytes (source || seqno). */
export type MessageId = Uint8Array;

export const MESSAGE_ID_BYTES = 40;
const DOMAIN = new TextEncoder().encode('quicmesh/pubsub/message/v1\0');
const utf8 = new TextEncoder();

/** A message as handed to the application. */
export interface ReceivedMessage {
  topic: string;
  /** The author's Ed25519 public key. */
  source: Identity;
  seqno: bigint;
  data: Uint8Array;
  id: MessageId;
}

export function messageId(source: Identity, seqno: bigint): MessageId {
  const id = new Uint8Array(MESSAGE_ID_BYTES);
  id.set(source.subarray(0, 32), 0);
  new DataView(id.buffer).setBigUint64(32, seqno);
  return id;
}

const keys = new WeakMap<Uint8Array, string>();
const ids = new WeakMap<GossipMessage, MessageId>();

/** The id of `msg` (memoized per message object, like messageIdKey). */
export function messageIdOf(msg: GossipMessage): MessageId {
  let id = ids.get(msg);
  if (id === undefined) {
    id = messageId(msg.source, msg.seqno);
    ids.set(msg, id);
  }
  return id;
}

/**
 * Hex of an id (message id or NodeId): the key of every map in the router. Memoized per byte
 * array: ids travel as shared objects inside one process (simulator, cached messages), and the
 * hex conversion is the hottest step of IHave processing otherwise.
 */
export function messageIdKey(id: Uint8Array): string {
  let k = keys.get(id);
  if (k === undefined) {
    k = toHex(id);
    keys.set(id, k);
  }
  return k;
}

/** The bytes an author signs (see the module comment). */
export function signedBytes(topic: string, source: Identity, seqno: bigint, data: Uint8Array): Uint8Array {
  const t = utf8.encode(topic);
  const head = new Uint8Array(2 + t.length + 32 + 8 + 4);
  const view = new DataView(head.buffer);
  view.setUint16(0, t.length);
  head.set(t, 2);
  head.set(source, 2 + t.length);
  view.setBigUint64(2 + t.length + 32, seqno);
  view.setUint32(2 + t.length + 40, data.length);
  return concatBytes(DOMAIN, head, data);
}

/** Author and sign a message. */
export function signMessage(keypair: Keypair, topic: string, seqno: bigint, data: Uint8Array): GossipMessage {
  const source = keypair.identity;
  return { topic, source, seqno, data, signature: keypair.sign(signedBytes(topic, source, seqno, data)) };
}

/** Checks a message's signature; injectable so a simulator can share results between nodes. */
export type MessageVerifier = (msg: GossipMessage) => boolean;

export const verifyMessage: MessageVerifier = (msg) =>
  verifySignature(msg.source, signedBytes(msg.topic, msg.source, msg.seqno, msg.data), msg.signature);

/**
 * A verifier that remembers its answer per message object. Sound only when message objects are
 * never mutated after their first check, as in the simulator where one object travels everywhere.
 */
export function memoizedVerifier(inner: MessageVerifier = verifyMessage): MessageVerifier {
  const seen = new WeakMap<GossipMessage, boolean>();
  return (msg) => {
    let ok = seen.get(msg);
    if (ok === undefined) {
      ok = inner(msg);
      seen.set(msg, ok);
    }
    return ok;
  };
}

/** UTF-8 length check of a topic: 1..MAX_TOPIC_BYTES. Returns a reason, or null when fine. */
export function topicProblem(topic: unknown): string | null {
  if (typeof topic !== 'string') return 'topic must be a string';
  // Each UTF-16 unit encodes to at most 3 bytes: skip the count for short topics.
  const len = topic.length * 3 <= MAX_TOPIC_BYTES ? topic.length : utf8.encode(topic).length;
  if (len < 1) return 'topic is empty';
  if (len > MAX_TOPIC_BYTES) return `topic is ${len} bytes, more than ${MAX_TOPIC_BYTES}`;
  return null;
}

/** Structural checks of a received message (no crypto). Returns a reason, or null when well-formed. */
export function messageProblem(msg: GossipMessage, maxMessageSize: number): string | null {
  if (msg === null || typeof msg !== 'object') return 'message missing';
  const t = topicProblem(msg.topic);
  if (t) return t;
  if (!(msg.source instanceof Uint8Array) || msg.source.length !== 32) return 'source must be a 32-byte public key';
  if (!(msg.signature instanceof Uint8Array) || msg.signature.length !== 64) return 'signature must be 64 bytes';
  if (typeof msg.seqno !== 'bigint' || msg.seqno < 0n || msg.seqno > 0xffffffffffffffffn) return 'seqno out of range';
  if (!(msg.data instanceof Uint8Array)) return 'data must be bytes';
  if (msg.data.length > maxMessageSize) return `data is ${msg.data.length} bytes, more than ${maxMessageSize}`;
  return null;
}

/** Throws PubsubError('InvalidTopic') naming the problem with an application-given topic. */
export function checkTopic(topic: string): void {
  const problem = topicProblem(topic);
  if (problem) throw new PubsubError('InvalidTopic', problem);
}

/** True for a list of 1..MAX_IDS message ids of 1..MAX_MESSAGE_ID_BYTES bytes each. */
export function validIds(ids: unknown): ids is Uint8Array[] {
  if (!Array.isArray(ids) || ids.length > MAX_IDS) return false;
  for (const id of ids) {
    if (!(id instanceof Uint8Array) || id.length < 1 || id.length > MAX_MESSAGE_ID_BYTES) return false;
  }
  return true;
}
