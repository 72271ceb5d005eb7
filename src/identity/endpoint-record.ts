/**
 * Signed endpoint records (spec: EndpointRecord, RelayEndpoint): a peer's announcement of the
 * addresses and relays it can be reached at, stored in the DHT under endpointRecordKey(identity).
 * The signature covers a canonical binary encoding behind a domain-separation prefix, so a record
 * cannot be replayed as any other signed object. `sequence` orders a peer's records: storage keeps
 * the highest, and checkRecordReplacement refuses forged, stale or misplaced ones.
 *
 * Encoding (a signed record, signed-record.ts): [version u8 = 1][identity 32][addrs][relays]
 * [sequence u64][timestampMs u64][signature 64], lists varint-counted, addresses as in the wire
 * codec ("host:port", ≤ 64 bytes).
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesEqual, concatBytes } from '../core/bytes.js';
import type { Identity, Key, NodeId } from '../core/types.js';
import { DecodeError } from '../errors.js';
import { addr, id32, list, struct, u64, u64Number } from '../wire/fields.js';
import { MAX_ADDRS } from '../wire/limits.js';
import type { Keypair } from './keypair.js';
import { nodeIdFromPublicKey } from './node-id.js';
import { signedRecordCodec } from './signed-record.js';

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
const codec = signedRecordCodec<EndpointRecord>({
  root: 'EndpointRecord',
  version: ENDPOINT_RECORD_VERSION,
  domain: SIGNATURE_DOMAIN,
  body: struct<Omit<EndpointRecord, 'signature'>>({
    identity: id32,
    addrs: list(addr, MAX_RECORD_ADDRS),
    relays: list(relayCodec, MAX_RECORD_RELAYS),
    sequence: u64,
    timestampMs: u64Number,
  }),
  maxSize: MAX_ENDPOINT_RECORD_SIZE,
  author: (record) => record.identity,
});

/** Sign `content` as `keypair`. Throws DecodeError naming the field when the content breaks a limit. */
export function signEndpointRecord(keypair: Keypair, content: EndpointRecordContent): EndpointRecord {
  return codec.sign(keypair, {
    identity: keypair.publicKeyBytes(),
    addrs: [...content.addrs],
    relays: content.relays.map((r) => ({ relayId: Uint8Array.from(r.relayId), addrs: [...r.addrs] })),
    sequence: content.sequence,
    timestampMs: content.timestampMs,
  });
}

/** True when the record is well-formed and signed by its own identity. Never throws. */
export const verifyEndpointRecord: (record: EndpointRecord) => boolean = codec.verify;
/** The canonical encoding (what the DHT stores). Throws DecodeError on an invalid record. */
export const encodeEndpointRecord: (record: EndpointRecord) => Uint8Array = codec.encode;
/** Strict decoding; throws only DecodeError. Does not check the signature (see verifyEndpointRecord). */
export const decodeEndpointRecord: (bytes: Uint8Array) => EndpointRecord = codec.decode;

/** The DHT key a peer's endpoint record is stored under: BLAKE3(domain || identity). */
export function endpointRecordKey(identity: Identity): Key {
  if (!(identity instanceof Uint8Array) || identity.length !== 32) {
    throw new DecodeError('EndpointRecord.identity', 'identity must be a 32-byte Ed25519 public key');
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
