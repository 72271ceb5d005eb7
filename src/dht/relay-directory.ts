/**
 * Relays in the DHT (keys and slot rule: src/nat/relay/relay-info.ts). A relay publishes its signed
 * RelayInfo to its own key, relayInfoKey(NodeId), and to its directory slot; a client resolves a
 * relay it already knows by the first key and finds relays at all by reading every slot.
 *
 * Each publication carries a sequence strictly above any this publisher used before and at least
 * the clock in ms (as endpoint records do), so a relay that restarts still supersedes its old info,
 * and `timestampMs` = the clock, by which a shared slot keeps the newest relay. `rttMs` and `tier`
 * are what a client measures to the relay, so they are always published null.
 */
import { bytesEqual, toHex } from '../core/bytes.js';
import type { Clock } from '../core/clock.js';
import type { Key, NodeId } from '../core/types.js';
import { ConfigError } from '../errors.js';
import type { Keypair } from '../identity/keypair.js';
import { nodeIdFromPublicKey } from '../identity/node-id.js';
import {
  decodeRelayInfo,
  encodeRelayInfo,
  relayDirectoryKey,
  relayDirectorySlot,
  relayInfoKey,
  RELAY_DIRECTORY_SLOTS,
  signRelayInfo,
  type RelayInfo,
  type SignedRelayInfo,
} from '../nat/relay/relay-info.js';
import type { StoreResult } from './dht-types.js';
import { nextSequence } from './endpoint-publisher.js';
import type { LookupResult } from './lookup.js';
import { RELAY_INFOS } from './signed-values.js';

/** Directory slots read at once by discover() unless told otherwise. */
export const DISCOVER_RELAYS_CONCURRENCY = 4;

export interface RelayDirectoryDeps {
  clock: Clock;
  /** Store a 'relay-info' kind value on the k closest nodes. */
  store(key: Key, value: Uint8Array): Promise<StoreResult>;
  /** Find a value whose bytes pass `validate`. */
  findValue(key: Key, validate: (value: Uint8Array) => boolean): Promise<LookupResult>;
}

/** The outcome of a relay publishing its signed RelayInfo in the DHT. */
export interface RelayInfoPublishResult {
  /** What was published (signed; rttMs and tier null). */
  info: SignedRelayInfo;
  /** The replicas under the relay's own key. */
  own: StoreResult;
  /** The replicas under its directory slot. */
  directory: StoreResult;
  /** Remote replicas accepted under both keys together. */
  accepted: number;
}

/** Options of DhtNode.discoverRelays: concurrency and the oldest info to keep. */
export interface DiscoverRelaysOptions {
  /** Slot lookups in flight at once; default DISCOVER_RELAYS_CONCURRENCY. */
  concurrency?: number;
  /** Leave out infos published more than this many ms before now (default: keep all). */
  maxAgeMs?: number;
}

export class RelayDirectory {
  private readonly sequences = new Map<string, bigint>();

  constructor(private readonly deps: RelayDirectoryDeps) {}

  /** Sign `info` as `keypair` (its relayPeer must be the keypair's key) and store it under both keys. */
  async publish(keypair: Keypair, info: RelayInfo): Promise<RelayInfoPublishResult> {
    if (!bytesEqual(info.relayPeer, keypair.publicKeyBytes())) {
      throw new ConfigError('publishRelayInfo: info.relayPeer is not the public key of the signing keypair');
    }
    const id = keypair.nodeId;
    const mapKey = toHex(id);
    const now = Math.max(0, Math.floor(this.deps.clock.now()));
    const sequence = nextSequence(this.sequences.get(mapKey), now);
    const signed = signRelayInfo(keypair, { ...info, rttMs: null, tier: null }, sequence, now);
    // Encoding validates every field: a bad info throws here and uses up no sequence.
    const bytes = encodeRelayInfo(signed);
    this.sequences.set(mapKey, sequence);
    const [own, directory] = await Promise.all([
      this.deps.store(relayInfoKey(id), bytes),
      this.deps.store(relayDirectoryKey(relayDirectorySlot(id)), bytes),
    ]);
    return { info: signed, own, directory, accepted: own.accepted + directory.accepted };
  }

  /** The info of the relay `relayNodeId` from its own key (signature and key verified), or null. */
  resolve(relayNodeId: NodeId): Promise<SignedRelayInfo | null> {
    return this.read(relayInfoKey(relayNodeId));
  }

  /**
   * Every relay the directory holds: all slots read (a bounded number at once), one info per relay
   * (its highest sequence), newest first (ties by NodeId, for a stable order).
   */
  async discover(opts: DiscoverRelaysOptions = {}): Promise<SignedRelayInfo[]> {
    const concurrency = opts.concurrency ?? DISCOVER_RELAYS_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new ConfigError(`discoverRelays: concurrency must be a positive integer, got ${concurrency}`);
    }
    const found: SignedRelayInfo[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < RELAY_DIRECTORY_SLOTS) {
        const info = await this.read(relayDirectoryKey(next++));
        if (info !== null) found.push(info);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, RELAY_DIRECTORY_SLOTS) }, worker));

    const oldest = opts.maxAgeMs === undefined ? -Infinity : this.deps.clock.now() - opts.maxAgeMs;
    const byRelay = new Map<string, { id: string; info: SignedRelayInfo }>();
    for (const info of found) {
      if (info.timestampMs < oldest) continue;
      const id = toHex(nodeIdFromPublicKey(info.relayPeer));
      const held = byRelay.get(id);
      if (held === undefined || info.sequence > held.info.sequence) byRelay.set(id, { id, info });
    }
    return [...byRelay.values()]
      .sort((a, b) => b.info.timestampMs - a.info.timestampMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((e) => e.info);
  }

  /** A genuine info for `key` (forged or misplaced values are skipped by the lookup), or null. */
  private async read(key: Key): Promise<SignedRelayInfo | null> {
    const r = await this.deps.findValue(key, (v) => RELAY_INFOS.validFor(key, v) !== undefined);
    return r.value === undefined ? null : decodeRelayInfo(r.value);
  }
}
