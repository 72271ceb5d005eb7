/** NodeId and content-key derivation (BLAKE3), per the spec's identity section. */
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesEqual } from '../core/bytes.js';
import type { Key, NodeId } from '../core/types.js';

/** NodeId = BLAKE3(Ed25519 public key). */
export function nodeIdFromPublicKey(publicKey: Uint8Array): NodeId {
  return blake3(publicKey);
}

/** True when `nodeId` is the BLAKE3 hash of `publicKey`. */
export function verifyNodeId(nodeId: NodeId, publicKey: Uint8Array): boolean {
  return nodeId.length === 32 && bytesEqual(nodeId, nodeIdFromPublicKey(publicKey));
}

/** Hash arbitrary bytes to a NodeId-shaped value (e.g. a lookup target). */
export function deriveNodeId(bytes: Uint8Array): NodeId {
  return blake3(bytes);
}

/** Content key of a value: BLAKE3(value). */
export function hashContent(value: Uint8Array): Key {
  return blake3(value);
}

/** True when `key` is the content hash of `value` (content-addressed storage check). */
export function verifyKeyValuePair(key: Key, value: Uint8Array): boolean {
  return key.length === 32 && bytesEqual(key, hashContent(value));
}
