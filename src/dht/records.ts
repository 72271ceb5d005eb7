/**
 * Endpoint records in the DHT: which records a node accepts for storage and which it believes
 * when resolving. A record is kept only when it decodes, fits MAX_ENDPOINT_RECORD_SIZE, sits under
 * its own identity's key, carries a valid signature and has a higher sequence than the one held
 * (re-storing the very same record is accepted as a no-op, so republishing is harmless).
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
import type { StoreRejection } from '../wire/messages.js';
import type { RelayInfoRefusal } from './relay-records.js';

export type RecordRefusal = RecordRejection | 'TooLarge' | 'Malformed';

export type RecordCheck =
  | { ok: true; record: EndpointRecord; unchanged: boolean }
  | { ok: false; reason: RecordRefusal };

/** Decide whether `value`, offered for `key`, may replace the record bytes we hold (if any). */
export function checkIncomingRecord(key: Key, value: Uint8Array, held: Uint8Array | undefined): RecordCheck {
  if (value.length > MAX_ENDPOINT_RECORD_SIZE) return { ok: false, reason: 'TooLarge' };
  const incoming = tryDecode(value);
  if (!incoming) return { ok: false, reason: 'Malformed' };
  const existing = held ? tryDecode(held) : undefined;
  if (existing && held && bytesEqual(held, value)) return { ok: true, record: incoming, unchanged: true };
  const verdict = checkRecordReplacement(existing, incoming, key);
  return verdict === null ? { ok: true, record: incoming, unchanged: false } : { ok: false, reason: verdict };
}

/** The Ack rejection a refused record (or RelayInfo) is reported with (the wire has no finer reason). */
export function storeRejectionFor(reason: RecordRefusal | RelayInfoRefusal): StoreRejection {
  return reason === 'TooLarge' ? 'ValueTooLarge' : 'InvalidKey';
}

/** The record `value` holds if it is a genuine record for `key`, else undefined. */
export function validRecordFor(key: Key, value: Uint8Array): EndpointRecord | undefined {
  const check = checkIncomingRecord(key, value, undefined);
  return check.ok ? check.record : undefined;
}

function tryDecode(bytes: Uint8Array): EndpointRecord | undefined {
  try {
    return decodeEndpointRecord(bytes);
  } catch {
    return undefined;
  }
}
