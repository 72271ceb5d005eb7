/**
 * Signed values in the DHT — endpoint records (src/identity/endpoint-record.ts) and relay infos
 * (src/nat/relay/relay-info.ts): the one rule by which a node accepts one for storage and
 * believes one when resolving. A value is kept only when it fits its kind's size limit, decodes,
 * and passes the kind's replacement check against what is held:
 *   - an endpoint record sits under its own identity's key, is signed by it and has a higher
 *     sequence than the one held;
 *   - a relay info is signed by its own `relayPeer` and sits under that relay's own key (replaced
 *     only by a higher sequence) or under its directory slot (replaced when preferDirectoryEntry
 *     prefers it, or by the same relay's higher sequence).
 * Re-storing the very same bytes is accepted as a no-op, so republishing is harmless.
 */
import { bytesEqual } from '../core/bytes.js';
import type { Key } from '../core/types.js';
import {
  checkRecordReplacement,
  decodeEndpointRecord,
  MAX_ENDPOINT_RECORD_SIZE,
  type EndpointRecord,
  type RecordRejection,
} from '../identity/endpoint-record.js';
import {
  checkRelayInfoReplacement,
  decodeRelayInfo,
  MAX_RELAY_INFO_SIZE,
  type RelayInfoRejection,
  type SignedRelayInfo,
} from '../nat/relay/relay-info.js';
import type { StoreRejection } from '../wire/messages.js';

export type SignedValueCheck<R, Rejection extends string> =
  | { ok: true; value: R; unchanged: boolean }
  | { ok: false; reason: Rejection | 'TooLarge' | 'Malformed' };

/** One kind of signed value and how it is checked. */
export class SignedValueKind<R, Rejection extends string> {
  constructor(
    private readonly spec: {
      /** Largest encoding, bytes. */
      maxSize: number;
      /** Strict decoding; throws on malformed bytes. */
      decode(bytes: Uint8Array): R;
      /** Null when `incoming` may replace `existing` under `key`, else why not. */
      replacement(existing: R | undefined, incoming: R, key: Key): Rejection | null;
    },
  ) {}

  /** Decide whether `value`, offered for `key`, may replace the bytes we hold (if any). */
  check(key: Key, value: Uint8Array, held: Uint8Array | undefined): SignedValueCheck<R, Rejection> {
    if (value.length > this.spec.maxSize) return { ok: false, reason: 'TooLarge' };
    const incoming = this.tryDecode(value);
    if (incoming === undefined) return { ok: false, reason: 'Malformed' };
    // Whatever else is held under the key (nothing valid should be) is replaced like an empty slot.
    const existing = held ? this.tryDecode(held) : undefined;
    if (existing !== undefined && held && bytesEqual(held, value)) return { ok: true, value: incoming, unchanged: true };
    const verdict = this.spec.replacement(existing, incoming, key);
    return verdict === null ? { ok: true, value: incoming, unchanged: false } : { ok: false, reason: verdict };
  }

  /** The value `bytes` holds if it is genuine and belongs under `key`, else undefined. */
  validFor(key: Key, bytes: Uint8Array): R | undefined {
    const check = this.check(key, bytes, undefined);
    return check.ok ? check.value : undefined;
  }

  private tryDecode(bytes: Uint8Array): R | undefined {
    try {
      return this.spec.decode(bytes);
    } catch {
      return undefined;
    }
  }
}

export const ENDPOINT_RECORDS = new SignedValueKind<EndpointRecord, RecordRejection>({
  maxSize: MAX_ENDPOINT_RECORD_SIZE,
  decode: decodeEndpointRecord,
  replacement: checkRecordReplacement,
});

export const RELAY_INFOS = new SignedValueKind<SignedRelayInfo, RelayInfoRejection>({
  maxSize: MAX_RELAY_INFO_SIZE,
  decode: decodeRelayInfo,
  replacement: checkRelayInfoReplacement,
});

/** Why a signed value was refused. */
export type SignedValueRefusal = RecordRejection | RelayInfoRejection | 'TooLarge' | 'Malformed';

/** The Ack rejection a refused value is reported with (the wire has no finer reason). */
export function storeRejectionFor(reason: SignedValueRefusal): StoreRejection {
  return reason === 'TooLarge' ? 'ValueTooLarge' : 'InvalidKey';
}
