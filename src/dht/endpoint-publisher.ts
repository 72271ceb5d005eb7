/**
 * Publishing and resolving signed endpoint records in the DHT (spec: publish_address,
 * resolve_peer, republish_on_network_change). Records live under endpointRecordKey(identity);
 * each publication carries a sequence strictly above any this publisher used before and at least
 * the clock in ms, so a node that restarts still supersedes its old record.
 */
import { toHex } from '../core/bytes.js';
import type { Clock } from '../core/clock.js';
import type { Identity, Key } from '../core/types.js';
import {
  decodeEndpointRecord,
  encodeEndpointRecord,
  endpointRecordKey,
  signEndpointRecord,
  type EndpointRecord,
  type RelayEndpoint,
} from '../identity/endpoint-record.js';
import type { Keypair } from '../identity/keypair.js';
import type { LookupResult } from './lookup.js';
import type { PublishResult, StoreResult } from './dht-types.js';
import { ENDPOINT_RECORDS } from './signed-values.js';

export interface EndpointPublisherDeps {
  clock: Clock;
  /** Store a record-kind value on the k closest nodes. */
  store(key: Key, value: Uint8Array): Promise<StoreResult>;
  /** Find a value whose bytes pass `validate`. */
  findValue(key: Key, validate: (value: Uint8Array) => boolean): Promise<LookupResult>;
}

/** The next sequence: above the last one used and no lower than `nowMs`. */
export function nextSequence(last: bigint | undefined, nowMs: number): bigint {
  const floor = BigInt(Math.max(0, Math.floor(nowMs)));
  const next = (last ?? -1n) + 1n;
  return next > floor ? next : floor;
}

export class EndpointPublisher {
  private readonly sequences = new Map<string, bigint>();

  constructor(private readonly deps: EndpointPublisherDeps) {}

  async publish(keypair: Keypair, addrs: string[], relays: RelayEndpoint[] = []): Promise<PublishResult> {
    const id = keypair.identity;
    const mapKey = toHex(id);
    const now = Math.max(0, Math.floor(this.deps.clock.now()));
    const sequence = nextSequence(this.sequences.get(mapKey), now);
    const record = signEndpointRecord(keypair, { addrs, relays, sequence, timestampMs: now });
    this.sequences.set(mapKey, sequence);
    const result = await this.deps.store(endpointRecordKey(id), encodeEndpointRecord(record));
    return { ...result, record };
  }

  /** The record of `identity` (signature and key verified), or null when none is found. */
  async resolve(identity: Identity): Promise<EndpointRecord | null> {
    const key = endpointRecordKey(identity);
    const r = await this.deps.findValue(key, (v) => ENDPOINT_RECORDS.validFor(key, v) !== undefined);
    return r.value === undefined ? null : decodeEndpointRecord(r.value);
  }
}
