import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import { acceptStore } from '../../src/dht/handlers.js';
import { ENDPOINT_RECORDS, storeRejectionFor } from '../../src/dht/signed-values.js';
import {
  encodeEndpointRecord,
  endpointRecordKey,
  MAX_ENDPOINT_RECORD_SIZE,
  signEndpointRecord,
} from '../../src/identity/endpoint-record.js';
import { Keypair } from '../../src/identity/keypair.js';
import { hashContent } from '../../src/identity/node-id.js';
import { ProtectedStore } from '../../src/storage/protected-store.js';

const rng = new SeededRng(77);
const owner = Keypair.generate(rng.bytes(32));
const other = Keypair.generate(rng.bytes(32));
const key = endpointRecordKey(owner.identity);
const rec = (seq: bigint, kp = owner, addrs = ['192.0.2.1:1']): Uint8Array =>
  encodeEndpointRecord(signEndpointRecord(kp, { addrs, relays: [], sequence: seq, timestampMs: 5 }));

describe('ENDPOINT_RECORDS.check', () => {
  it('accepts a fresh genuine record and a higher sequence', () => {
    const v1 = rec(1n);
    const first = ENDPOINT_RECORDS.check(key, v1, undefined);
    expect(first.ok && first.value.sequence).toBe(1n);
    const second = ENDPOINT_RECORDS.check(key, rec(2n), v1);
    expect(second.ok && !second.unchanged).toBe(true);
  });

  it('treats the identical record as unchanged, and refuses stale, forged, misplaced, malformed, oversized', () => {
    const v5 = rec(5n);
    expect(ENDPOINT_RECORDS.check(key, v5, v5)).toMatchObject({ ok: true, unchanged: true });
    expect(ENDPOINT_RECORDS.check(key, rec(5n, owner, ['192.0.2.2:2']), v5)).toEqual({ ok: false, reason: 'Stale' });
    expect(ENDPOINT_RECORDS.check(key, rec(4n), v5)).toEqual({ ok: false, reason: 'Stale' });
    const signedByOther = signEndpointRecord(other, { addrs: ['6.6.6.6:6'], relays: [], sequence: 9n, timestampMs: 1 });
    const forged = encodeEndpointRecord({ ...signedByOther, identity: owner.identity });
    expect(ENDPOINT_RECORDS.check(key, forged, v5)).toEqual({ ok: false, reason: 'Forged' });
    expect(ENDPOINT_RECORDS.check(endpointRecordKey(other.identity), v5, undefined)).toEqual({ ok: false, reason: 'WrongKey' });
    expect(ENDPOINT_RECORDS.check(key, new Uint8Array([1, 2, 3]), undefined)).toEqual({ ok: false, reason: 'Malformed' });
    expect(ENDPOINT_RECORDS.check(key, new Uint8Array(MAX_ENDPOINT_RECORD_SIZE + 1), undefined)).toEqual({ ok: false, reason: 'TooLarge' });
    expect(ENDPOINT_RECORDS.validFor(key, forged)).toBeUndefined();
    expect(ENDPOINT_RECORDS.validFor(key, v5)?.sequence).toBe(5n);
  });

  it('maps refusals onto the wire Ack reasons', () => {
    expect(storeRejectionFor('TooLarge')).toBe('ValueTooLarge');
    for (const r of ['Forged', 'Stale', 'WrongKey', 'Malformed'] as const) expect(storeRejectionFor(r)).toBe('InvalidKey');
  });
});

describe('acceptStore with a ProtectedStore', () => {
  it('stores content only under its hash and records only when they may replace what is held', () => {
    const store = new ProtectedStore({}, new ManualClock(0));
    const from = rng.bytes(32);
    const value = new Uint8Array([1, 2, 3]);
    expect(acceptStore(store, from, hashContent(value), value, 'content')).toBeNull();
    expect(acceptStore(store, from, hashContent(value), new Uint8Array([9]), 'content')).toBe('InvalidKey');
    expect(acceptStore(store, from, new Uint8Array(5), value, 'content')).toBe('InvalidKey');

    expect(acceptStore(store, from, key, rec(3n), 'record')).toBeNull();
    expect(acceptStore(store, from, key, rec(2n), 'record')).toBe('InvalidKey');
    expect(acceptStore(store, from, key, rec(3n), 'record')).toBeNull(); // identical: no-op
    expect(acceptStore(store, from, key, rec(4n, owner, ['198.51.100.1:4']), 'record')).toBeNull();
    expect(ENDPOINT_RECORDS.validFor(key, store.get(key)!)?.addrs).toEqual(['198.51.100.1:4']);
  });
});
