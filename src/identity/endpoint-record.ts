/**
 * Signed endpoint records (spec: EndpointRecord, RelayEndpoint): a peer's announcement of the
 * addresses and relays it can be reached at, stored in the DHT under endpointRecordKey(identity).
 * The signature covers a canonical binary encoding behind a domain-separation prefix, so a record
 * cannot be replayed as any other signed object. `sequence` orders a peer's records: storage keeps
 * the highest, and checkRecordReplacement refuses forged, stale or misplaced ones.
 *
 * Encoding: [version u8 = 1][identity 32][addrs][relays][sequence u64][timestampMs u64][signature 64],
 * lists varint-counted, addresses as in the wire codec ("host:port", ≤ 64 bytes).
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesEqual, concatBytes } from '../core/bytes.js';
import type { Identity, Key, NodeId } from '../core/types.js';
import { DecodeError } from '../errors.js';
import { toDecodeError } from '../wire/fault.js';
import { addr, id32, list, signature64, struct, u64, u64Number, type FieldCodec } from '../wire/fields.js';
import { MAX_ADDRS } from '../wire/limits.js';
import { Reader } from '../wire/reader.js';
import { Writer } from '../wire/writer.js';
import { verifySignature, type Keypair } from './keypair.js';
import { nodeIdFromPublicKey } from './node-id.js';

/** Format version of endpoint records. */
export const ENDPOINT_RECORD_VERSION = 1;
/** Largest encoded record (bytes); encode and decode both refuse more. */
export const MAX_ENDPOINT_RECORD_SIZE = 2048;
/** Direct addresses an endpoint record may list. */
export const MAX_RECORD_ADDRS = MAX_ADDRS;
/** Relays an endpoint record may list. */
export const MAX_RECORD_RELAYS = 8;
/** Addresses per relay in an endpoint record. */
export const MAX_RELAY_ADDRS = 4;

const SIGNATURE_DOMAIN = new TextEncoder().encode('quicmesh/endpoint-record/v1');
const KEY_DOMAIN = new TextEncoder().encode('quicmesh/endpoint-record-key/v1');
const ROOT = 'EndpointRecord';

/** A relay a node can be reached through: its NodeId and addresses. */
export interface RelayEndpoint {
  relayId: NodeId;
  addrs: string[];
}

/** A node's signed endpoint record: how to reach it (addresses, relays), published in the DHT. */
export interface EndpointRecord {
  /** The author's Ed25519 public key. */
  identity: Identity;
  /** Direct addresses ("host:port"), best first. */
  addrs: string[];
  /** Relays the author can be reached through. */
  relays: RelayEndpoint[];
  /** Strictly increasing per author; a newer record replaces an older one. */
  sequence: bigint;
  /** Author's wall clock at signing (ms since the epoch); informational, never used for ordering. */
  timestampMs: number;
  /** Ed25519 over SIGNATURE_DOMAIN || the encoding without the signature. */
  signature: Uint8Array;
}

/** The fields of an endpoint record its author chooses (the rest is identity and signature). */
export type EndpointRecordContent = Pick<EndpointRecord, 'addrs' | 'relays' | 'sequence' | 'timestampMs'>;

/** Why a record may not replace what is stored, or null when it may. */
export type RecordRejection = 'Forged' | 'Stale' | 'WrongKey';

const relayCodec = struct<RelayEndpoint>({ relayId: id32, addrs: list(addr, MAX_RELAY_ADDRS) });
const bodyCodec = struct<Omit<EndpointRecord, 'signature'>>({
  identity: id32,
  addrs: list(addr, MAX_RECORD_ADDRS),
  relays: list(relayCodec, MAX_RECORD_RELAYS),
  sequence: u64,
  timestampMs: u64Number,
});
const versionCodec: FieldCodec<number> = {
  write: (w, v) => w.u8(v),
  read: (r) => {
    const v = r.u8();
    if (v !== ENDPOINT_RECORD_VERSION) throw new DecodeError(`${ROOT}.version`, `unsupported version ${v}`);
    return v;
  },
};

/** version || body (everything but the signature), validated. */
function writeBody(w: Writer, record: Omit<EndpointRecord, 'signature'>): void {
  versionCodec.write(w, ENDPOINT_RECORD_VERSION);
  try {
    bodyCodec.write(w, record);
  } catch (e) {
    throw toDecodeError(e, ROOT);
  }
}

function signedBytes(record: Omit<EndpointRecord, 'signature'>): Uint8Array {
  const w = new Writer(256);
  w.bytes(SIGNATURE_DOMAIN);
  writeBody(w, record);
  if (w.length - SIGNATURE_DOMAIN.length + 64 > MAX_ENDPOINT_RECORD_SIZE) {
    throw new DecodeError(ROOT, `encoded size exceeds ${MAX_ENDPOINT_RECORD_SIZE} bytes`);
  }
  return w.finish();
}

/** Sign `content` as `keypair`. Throws DecodeError naming the field when the content breaks a limit. */
export function signEndpointRecord(keypair: Keypair, content: EndpointRecordContent): EndpointRecord {
  const unsigned = {
    identity: keypair.publicKeyBytes(),
    addrs: [...content.addrs],
    relays: content.relays.map((r) => ({ relayId: Uint8Array.from(r.relayId), addrs: [...r.addrs] })),
    sequence: content.sequence,
    timestampMs: content.timestampMs,
  };
  return { ...unsigned, signature: keypair.sign(signedBytes(unsigned)) };
}

/** True when the record is well-formed and signed by its own identity. Never throws. */
export function verifyEndpointRecord(record: EndpointRecord): boolean {
  let message: Uint8Array;
  try {
    message = signedBytes(record);
  } catch {
    return false;
  }
  return (
    record.signature instanceof Uint8Array && verifySignature(record.identity, message, record.signature)
  );
}

/** The canonical encoding (what the DHT stores). Throws DecodeError on an invalid record. */
export function encodeEndpointRecord(record: EndpointRecord): Uint8Array {
  const w = new Writer(256);
  writeBody(w, record);
  try {
    signature64.write(w, record.signature);
  } catch (e) {
    throw toDecodeError(e, `${ROOT}.signature`);
  }
  if (w.length > MAX_ENDPOINT_RECORD_SIZE) {
    throw new DecodeError(ROOT, `encoded size ${w.length} exceeds ${MAX_ENDPOINT_RECORD_SIZE} bytes`);
  }
  return w.finish();
}

/** Strict decoding; throws only DecodeError. Does not check the signature (see verifyEndpointRecord). */
export function decodeEndpointRecord(bytes: Uint8Array): EndpointRecord {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError(ROOT, 'expected bytes');
  if (bytes.length > MAX_ENDPOINT_RECORD_SIZE) {
    throw new DecodeError(ROOT, `${bytes.length} bytes exceeds ${MAX_ENDPOINT_RECORD_SIZE}`);
  }
  const r = new Reader(bytes);
  const out: Record<string, unknown> = {};
  try {
    versionCodec.read(r);
    bodyCodec.readInto(r, out);
    out.signature = signature64.read(r);
  } catch (e) {
    // the signature is read outside the struct, so name it here
    throw toDecodeError(e, out.timestampMs !== undefined ? `${ROOT}.signature` : ROOT);
  }
  if (r.remaining > 0) throw new DecodeError(ROOT, `${r.remaining} trailing bytes`);
  return out as unknown as EndpointRecord;
}

/** The DHT key a peer's endpoint record is stored under: BLAKE3(domain || identity). */
export function endpointRecordKey(identity: Identity): Key {
  if (!(identity instanceof Uint8Array) || identity.length !== 32) {
    throw new DecodeError(`${ROOT}.identity`, 'identity must be a 32-byte Ed25519 public key');
  }
  return blake3(concatBytes(KEY_DOMAIN, identity));
}

/** The NodeId of the record's author. */
export function nodeIdOfRecord(record: EndpointRecord): NodeId {
  return nodeIdFromPublicKey(record.identity);
}

/**
 * May `incoming`, offered for `key`, replace `existing`? Null when yes; otherwise 'WrongKey' (not
 * stored under its identity's key), 'Forged' (bad signature or malformed) or 'Stale' (sequence
 * not strictly greater than the stored record's). Never throws.
 */
export function checkRecordReplacement(
  existing: EndpointRecord | undefined,
  incoming: EndpointRecord,
  key: Key,
): RecordRejection | null {
  let expected: Key;
  try {
    expected = endpointRecordKey(incoming.identity);
  } catch {
    return 'Forged';
  }
  if (!(key instanceof Uint8Array) || !bytesEqual(key, expected)) return 'WrongKey';
  if (!verifyEndpointRecord(incoming)) return 'Forged';
  if (existing !== undefined && incoming.sequence <= existing.sequence) return 'Stale';
  return null;
}
