/**
 * RelayInfo values in the DHT (src/nat/relay/relay-info.ts): which ones a node accepts for storage
 * and which it believes when resolving. A value is kept only when it fits MAX_RELAY_INFO_SIZE,
 * decodes, is signed by its own `relayPeer`, and sits under that relay's own key (replaced only by
 * a higher sequence) or under the relay's directory slot (replaced when preferDirectoryEntry
 * prefers it, or by the same relay's higher sequence). Re-storing the very same bytes is a no-op.
 */
import { bytesEqual } from '../core/bytes.js';
import type { Key } from '../core/types.js';
import {
  checkRelayInfoReplacement,
  decodeRelayInfo,
  MAX_RELAY_INFO_SIZE,
  type RelayInfoRejection,
  type SignedRelayInfo,
} from '../nat/relay/relay-info.js';

export type RelayInfoRefusal = RelayInfoRejection | 'TooLarge' | 'Malformed';

export type RelayInfoCheck =
  | { ok: true; info: SignedRelayInfo; unchanged: boolean }
  | { ok: false; reason: RelayInfoRefusal };

/** Decide whether `value`, offered for `key`, may replace the RelayInfo bytes we hold (if any). */
export function checkIncomingRelayInfo(key: Key, value: Uint8Array, held: Uint8Array | undefined): RelayInfoCheck {
  if (value.length > MAX_RELAY_INFO_SIZE) return { ok: false, reason: 'TooLarge' };
  const incoming = tryDecode(value);
  if (!incoming) return { ok: false, reason: 'Malformed' };
  // Whatever else is held under the key (nothing valid should be) is replaced like an empty slot.
  const existing = held ? tryDecode(held) : undefined;
  if (existing && held && bytesEqual(held, value)) return { ok: true, info: incoming, unchanged: true };
  const verdict = checkRelayInfoReplacement(existing, incoming, key);
  return verdict === null ? { ok: true, info: incoming, unchanged: false } : { ok: false, reason: verdict };
}

/** The RelayInfo `value` holds if it is genuine and belongs under `key`, else undefined. */
export function validRelayInfoFor(key: Key, value: Uint8Array): SignedRelayInfo | undefined {
  const check = checkIncomingRelayInfo(key, value, undefined);
  return check.ok ? check.info : undefined;
}

function tryDecode(bytes: Uint8Array): SignedRelayInfo | undefined {
  try {
    return decodeRelayInfo(bytes);
  } catch {
    return undefined;
  }
}
