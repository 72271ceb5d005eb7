/**
 * RelayInfo (spec: RelayInfo, RelayCapabilities): what a relay publishes about itself in the DHT,
 * and its strict, signed binary encoding.
 *
 * Storage keys:
 * - `relayInfoKey(relayNodeId)` = BLAKE3("quicmesh/relay-info/v1" || NodeId): a relay's own record,
 *   for a client that already knows the relay (e.g. from an EndpointRecord's `relays`).
 * - The relay directory, for finding relays at all: RELAY_DIRECTORY_SLOTS well-known keys
 *   `relayDirectoryKey(slot)` = BLAKE3("quicmesh/relay-directory/v1" || u8 slot). A relay
 *   publishes its signed info to its own key and to slot `relayDirectorySlot(nodeId)`
 *   (= NodeId[0] mod SLOTS). A slot holds one record; a storer keeps the newest valid one
 *   (`timestampMs`, then lower load), and relays republish every few minutes, so colliding
 *   relays take turns and a client that reads all slots finds up to SLOTS relays, then follows
 *   each one's own key for fresher data.
 *
 * Encoding: [version u8 = 1][relayPeer 32][relayAddrs ≤ 4][load u16 per 10 000][accepting bool]
 * [rtt µs: nullable u32][tier: nullable u8][stun bool][turn bool][iceLite bool]
 * [maxBandwidthKbps u32][region: nullable string 1..64][sequence u64][timestampMs u64][signature 64].
 * The signature (Ed25519 by relayPeer) covers "quicmesh/relay-info/v1" || everything before it
 * (a signed record: signed-record.ts).
 * `rttMs` and `tier` are an observer's measurements: a relay publishes them null, clients fill
 * them locally (RelayClient.updateRelayRtt).
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesEqual, concatBytes } from '../../core/bytes.js';
import type { Identity, Key, NodeId } from '../../core/types.js';
import { DecodeError } from '../../errors.js';
import type { Keypair } from '../../identity/keypair.js';
import { nodeIdFromPublicKey } from '../../identity/node-id.js';
import { signedRecordCodec } from '../../identity/signed-record.js';
import { WireFault } from '../../wire/fault.js';
import { addr, bool, id32, list, nullable, string, struct, u32, u64, u64Number, type FieldCodec } from '../../wire/fields.js';

export const RELAY_INFO_VERSION = 1;
export const MAX_RELAY_INFO_ADDRS = 4;
export const MAX_REGION_BYTES = 64;
export const MAX_RELAY_INFO_SIZE = 1024;
export const RELAY_DIRECTORY_SLOTS = 16;

const enc = new TextEncoder();
const SIGNATURE_DOMAIN = enc.encode('quicmesh/relay-info/v1');
const KEY_DOMAIN = enc.encode('quicmesh/relay-info/v1');
const DIRECTORY_DOMAIN = enc.encode('quicmesh/relay-directory/v1');

/** What a relay offers: NAT tests (stun), relayed sessions (turn), ICE-lite, a per-session bandwidth limit, its region. */
export interface RelayCapabilities {
  /** Answers WhatIsMyAddr (and NatTest). */
  stun: boolean;
  /** Relays sessions. */
  turn: boolean;
  iceLite: boolean;
  /** Per-session limit; 0 = unlimited. */
  maxBandwidthKbps: number;
  region: string | null;
}

/** What a relay publishes about itself: key, addresses, load, acceptance, capabilities; clients fill in RTT and tier. */
export interface RelayInfo {
  /** The relay's Ed25519 public key. */
  relayPeer: Identity;
  relayAddrs: string[];
  /** Sessions / capacity, 0..1. */
  load: number;
  accepting: boolean;
  /** Observed RTT (ms) to the relay, if measured. */
  rttMs: number | null;
  /** Latency tier (0 = fastest), if known. */
  tier: number | null;
  capabilities: RelayCapabilities;
}

/** A RelayInfo as stored in the DHT: ordered by `sequence`, signed by `relayPeer`. */
export interface SignedRelayInfo extends RelayInfo {
  sequence: bigint;
  timestampMs: number;
  signature: Uint8Array;
}

const fault = (detail: string): never => {
  throw new WireFault('', detail);
};

/** 0..1 as an integer count of 1/10 000 (canonical: decode∘encode keeps 4 decimals). */
const load: FieldCodec<number> = {
  write(w, v) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) fault(`expected 0..1, got ${String(v)}`);
    const n = Math.round(v * 10_000);
    w.u8(n >> 8);
    w.u8(n & 0xff);
  },
  read(r) {
    const n = (r.u8() << 8) | r.u8();
    if (n > 10_000) fault(`${n} exceeds 10000 (load is 0..1)`);
    return n / 10_000;
  },
};

/** Milliseconds carried as whole microseconds in a u32. */
const rttMicros: FieldCodec<number> = {
  write(w, v) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v * 1000 > 0xffffffff) {
      fault(`expected 0..4294967 ms, got ${String(v)}`);
    }
    w.u32(Math.round(v * 1000));
  },
  read(r) {
    return r.u32() / 1000;
  },
};

const tier: FieldCodec<number> = {
  write(w, v) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) fault(`expected 0..255, got ${String(v)}`);
    w.u8(v);
  },
  read(r) {
    return r.u8();
  },
};

const capabilities = struct<RelayCapabilities>({
  stun: bool,
  turn: bool,
  iceLite: bool,
  maxBandwidthKbps: u32,
  region: nullable(string(1, MAX_REGION_BYTES)),
});

/** Everything but the signature, in wire order. */
const body = struct<Omit<SignedRelayInfo, 'signature'>>({
  relayPeer: id32,
  relayAddrs: list(addr, MAX_RELAY_INFO_ADDRS),
  load,
  accepting: bool,
  rttMs: nullable(rttMicros),
  tier: nullable(tier),
  capabilities,
  sequence: u64,
  timestampMs: u64Number,
});

const codec = signedRecordCodec<SignedRelayInfo>({
  root: 'RelayInfo',
  version: RELAY_INFO_VERSION,
  domain: SIGNATURE_DOMAIN,
  body,
  maxSize: MAX_RELAY_INFO_SIZE,
  author: (info) => info.relayPeer,
});

/** Sign `info` as `keypair` (whose public key becomes `relayPeer`). Throws DecodeError on a bad field. */
export function signRelayInfo(
  keypair: Keypair,
  info: Omit<RelayInfo, 'relayPeer'>,
  sequence: bigint,
  timestampMs: number,
): SignedRelayInfo {
  return codec.sign(keypair, {
    relayPeer: keypair.publicKeyBytes(),
    relayAddrs: [...info.relayAddrs],
    load: info.load,
    accepting: info.accepting,
    rttMs: info.rttMs,
    tier: info.tier,
    capabilities: { ...info.capabilities },
    sequence,
    timestampMs,
  });
}

/** True when well-formed and signed by its own `relayPeer`. Never throws. */
export const verifyRelayInfo: (info: SignedRelayInfo) => boolean = codec.verify;
/** The canonical encoding (what the DHT stores). Throws DecodeError naming the field on an invalid info. */
export const encodeRelayInfo: (info: SignedRelayInfo) => Uint8Array = codec.encode;
/** Strict decoding (throws only DecodeError naming the field); does not check the signature. */
export const decodeRelayInfo: (bytes: Uint8Array) => SignedRelayInfo = codec.decode;

function checkId(id: NodeId, field: string): void {
  if (!(id instanceof Uint8Array) || id.length !== 32) throw new DecodeError(field, 'must be a 32-byte NodeId');
}

/** BLAKE3("quicmesh/relay-info/v1" || relay NodeId). */
export function relayInfoKey(relayNodeId: NodeId): Key {
  checkId(relayNodeId, 'relayNodeId');
  return blake3(concatBytes(KEY_DOMAIN, relayNodeId));
}

/** BLAKE3("quicmesh/relay-directory/v1" || slot). */
export function relayDirectoryKey(slot: number): Key {
  if (!Number.isInteger(slot) || slot < 0 || slot >= RELAY_DIRECTORY_SLOTS) {
    throw new DecodeError('slot', `must be an integer in 0..${RELAY_DIRECTORY_SLOTS - 1}, got ${slot}`);
  }
  return blake3(concatBytes(DIRECTORY_DOMAIN, Uint8Array.of(slot)));
}

/** The directory slot a relay publishes to. */
export function relayDirectorySlot(relayNodeId: NodeId): number {
  checkId(relayNodeId, 'relayNodeId');
  return relayNodeId[0]! % RELAY_DIRECTORY_SLOTS;
}

/** Which of two valid records for one directory slot a storer keeps: newer, then less loaded. */
export function preferDirectoryEntry(a: SignedRelayInfo, b: SignedRelayInfo): SignedRelayInfo {
  if (a.timestampMs !== b.timestampMs) return a.timestampMs > b.timestampMs ? a : b;
  return b.load < a.load ? b : a;
}

export type RelayInfoRejection = 'Forged' | 'Stale' | 'WrongKey';

/**
 * May `incoming`, offered for DHT `key`, replace `existing`? Null when yes. The key must be the
 * relay's own key or its directory slot; the signature must hold. On the relay's own key a
 * newer `sequence` wins; a directory slot keeps `preferDirectoryEntry` of the two (a slot is
 * shared by relays, so sequences of different authors do not compare). Never throws.
 */
export function checkRelayInfoReplacement(
  existing: SignedRelayInfo | undefined,
  incoming: SignedRelayInfo,
  key: Key,
): RelayInfoRejection | null {
  let own: Key;
  let slot: Key;
  if (!(incoming.relayPeer instanceof Uint8Array) || incoming.relayPeer.length !== 32) return 'Forged';
  try {
    const id = nodeIdFromPublicKey(incoming.relayPeer);
    own = relayInfoKey(id);
    slot = relayDirectoryKey(relayDirectorySlot(id));
  } catch {
    return 'Forged';
  }
  const isOwn = key instanceof Uint8Array && bytesEqual(key, own);
  if (!isOwn && !(key instanceof Uint8Array && bytesEqual(key, slot))) return 'WrongKey';
  if (!verifyRelayInfo(incoming)) return 'Forged';
  if (existing === undefined) return null;
  if (isOwn) return incoming.sequence > existing.sequence ? null : 'Stale';
  if (bytesEqual(existing.relayPeer, incoming.relayPeer)) return incoming.sequence > existing.sequence ? null : 'Stale';
  return preferDirectoryEntry(existing, incoming) === incoming ? null : 'Stale';
}
