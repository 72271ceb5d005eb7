import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import { acceptStore } from '../../src/dht/handlers.js';
import { RELAY_INFOS } from '../../src/dht/signed-values.js';
import { encodeEndpointRecord, endpointRecordKey, signEndpointRecord } from '../../src/identity/endpoint-record.js';
import { Keypair } from '../../src/identity/keypair.js';
import {
  encodeRelayInfo,
  MAX_RELAY_INFO_SIZE,
  relayDirectoryKey,
  relayDirectorySlot,
  relayInfoKey,
  RELAY_DIRECTORY_SLOTS,
  signRelayInfo,
  type RelayInfo,
  type SignedRelayInfo,
} from '../../src/nat/relay/relay-info.js';
import { ProtectedStore } from '../../src/storage/protected-store.js';

const rng = new SeededRng(4242);
const base: Omit<RelayInfo, 'relayPeer'> = {
  relayAddrs: ['203.0.113.1:4433'],
  load: 0.25,
  accepting: true,
  rttMs: null,
  tier: null,
  capabilities: { stun: true, turn: true, iceLite: false, maxBandwidthKbps: 0, region: 'eu-west' },
};

/** Keypairs whose NodeIds share one directory slot, and one in another slot. */
function keypairs(): { a: Keypair; b: Keypair; c: Keypair; elsewhere: Keypair } {
  const bySlot = new Map<number, Keypair[]>();
  for (;;) {
    const kp = Keypair.generate(rng.bytes(32));
    const slot = relayDirectorySlot(kp.nodeId);
    const list = bySlot.get(slot) ?? [];
    list.push(kp);
    bySlot.set(slot, list);
    if (list.length === 3) {
      const other = [...bySlot.entries()].find(([s]) => s !== slot)?.[1][0];
      if (other) return { a: list[0]!, b: list[1]!, c: list[2]!, elsewhere: other };
    }
  }
}
const { a, b, c, elsewhere } = keypairs();
const ownKey = relayInfoKey(a.nodeId);
const slotKey = relayDirectoryKey(relayDirectorySlot(a.nodeId));

const signed = (kp: Keypair, seq: bigint, ts: number, over: Partial<RelayInfo> = {}): SignedRelayInfo =>
  signRelayInfo(kp, { ...base, ...over }, seq, ts);
const enc = (kp: Keypair, seq: bigint, ts = 1_000, over: Partial<RelayInfo> = {}): Uint8Array =>
  encodeRelayInfo(signed(kp, seq, ts, over));

describe('RELAY_INFOS.check on a relay\'s own key', () => {
  it('accepts a fresh genuine info and a higher sequence; the same bytes again are unchanged', () => {
    const v1 = enc(a, 1n);
    const first = RELAY_INFOS.check(ownKey, v1, undefined);
    expect(first.ok && first.value.sequence).toBe(1n);
    expect(RELAY_INFOS.check(ownKey, enc(a, 2n), v1)).toMatchObject({ ok: true, unchanged: false });
    expect(RELAY_INFOS.check(ownKey, v1, v1)).toMatchObject({ ok: true, unchanged: true });
  });

  it('refuses an equal or lower sequence, even with a newer timestamp', () => {
    const v5 = enc(a, 5n, 1_000);
    expect(RELAY_INFOS.check(ownKey, enc(a, 5n, 9_000, { load: 0.9 }), v5)).toEqual({ ok: false, reason: 'Stale' });
    expect(RELAY_INFOS.check(ownKey, enc(a, 4n, 9_000), v5)).toEqual({ ok: false, reason: 'Stale' });
  });

  it('refuses forged signatures: another signer, or a field changed after signing', () => {
    const byOther = signed(b, 9n, 1_000);
    const claimed = encodeRelayInfo({ ...byOther, relayPeer: a.publicKeyBytes() });
    expect(RELAY_INFOS.check(ownKey, claimed, undefined)).toEqual({ ok: false, reason: 'Forged' });
    const tampered = encodeRelayInfo({ ...signed(a, 9n, 1_000), load: 0 });
    expect(RELAY_INFOS.check(ownKey, tampered, undefined)).toEqual({ ok: false, reason: 'Forged' });
    expect(RELAY_INFOS.validFor(ownKey, tampered)).toBeUndefined();
  });

  it('refuses a genuine info under any key but its own key and slot', () => {
    const v = enc(a, 1n);
    expect(RELAY_INFOS.check(relayInfoKey(b.nodeId), v, undefined)).toEqual({ ok: false, reason: 'WrongKey' });
    const otherSlot = (relayDirectorySlot(a.nodeId) + 1) % RELAY_DIRECTORY_SLOTS;
    expect(RELAY_INFOS.check(relayDirectoryKey(otherSlot), v, undefined)).toEqual({ ok: false, reason: 'WrongKey' });
    expect(RELAY_INFOS.check(rng.bytes(32), v, undefined)).toEqual({ ok: false, reason: 'WrongKey' });
    expect(RELAY_INFOS.check(endpointRecordKey(a.identity), v, undefined)).toEqual({ ok: false, reason: 'WrongKey' });
  });

  it('refuses oversized and malformed values before any signature work', () => {
    expect(RELAY_INFOS.check(ownKey, new Uint8Array(MAX_RELAY_INFO_SIZE + 1), undefined)).toEqual({ ok: false, reason: 'TooLarge' });
    expect(RELAY_INFOS.check(ownKey, Uint8Array.of(1, 2, 3), undefined)).toEqual({ ok: false, reason: 'Malformed' });
    const v = enc(a, 1n);
    expect(RELAY_INFOS.check(ownKey, Uint8Array.of(...v, 0), undefined)).toEqual({ ok: false, reason: 'Malformed' });
  });
});

describe('RELAY_INFOS.check on a directory slot', () => {
  it('keeps the newer of two relays, then the less loaded; the same relay by sequence', () => {
    const aOld = enc(a, 1n, 100);
    const bNew = enc(b, 1n, 200, { load: 0.5 });
    expect(RELAY_INFOS.check(slotKey, aOld, undefined)).toMatchObject({ ok: true });
    expect(RELAY_INFOS.check(slotKey, bNew, aOld)).toMatchObject({ ok: true, unchanged: false });
    expect(RELAY_INFOS.check(slotKey, enc(a, 2n, 150), bNew)).toEqual({ ok: false, reason: 'Stale' });
    // a tie on time: the lower load wins, an equal load keeps what is held
    expect(RELAY_INFOS.check(slotKey, enc(c, 1n, 200, { load: 0.1 }), bNew)).toMatchObject({ ok: true });
    expect(RELAY_INFOS.check(slotKey, enc(c, 1n, 200, { load: 0.5 }), bNew)).toEqual({ ok: false, reason: 'Stale' });
    // the holder itself: a higher sequence replaces, a lower one does not (whatever the timestamps)
    expect(RELAY_INFOS.check(slotKey, enc(b, 2n, 150), bNew)).toMatchObject({ ok: true });
    expect(RELAY_INFOS.check(slotKey, enc(b, 0n, 900), bNew)).toEqual({ ok: false, reason: 'Stale' });
  });

  it('refuses a relay that does not belong to the slot', () => {
    expect(RELAY_INFOS.check(slotKey, enc(elsewhere, 1n), undefined)).toEqual({ ok: false, reason: 'WrongKey' });
    expect(RELAY_INFOS.validFor(slotKey, enc(elsewhere, 1n))).toBeUndefined();
    expect(RELAY_INFOS.validFor(slotKey, enc(a, 3n))?.sequence).toBe(3n);
  });
});

describe("acceptStore of kind 'relay-info' with a ProtectedStore", () => {
  it('stores genuine infos and answers refusals with the wire reasons', () => {
    const store = new ProtectedStore({}, new ManualClock(0));
    const from = rng.bytes(32);
    expect(acceptStore(store, from, ownKey, enc(a, 3n), 'relay-info')).toBeNull();
    expect(acceptStore(store, from, ownKey, enc(a, 3n), 'relay-info')).toBeNull(); // identical: no-op
    expect(acceptStore(store, from, ownKey, enc(a, 2n), 'relay-info')).toBe('InvalidKey');
    expect(acceptStore(store, from, ownKey, enc(b, 9n), 'relay-info')).toBe('InvalidKey');
    expect(acceptStore(store, from, ownKey, new Uint8Array(MAX_RELAY_INFO_SIZE + 1), 'relay-info')).toBe('ValueTooLarge');
    expect(acceptStore(store, from, ownKey, enc(a, 4n, 2_000, { load: 0.75 }), 'relay-info')).toBeNull();
    expect(RELAY_INFOS.validFor(ownKey, store.get(ownKey)!)?.load).toBe(0.75);

    expect(acceptStore(store, from, slotKey, enc(a, 4n, 2_000), 'relay-info')).toBeNull();
    expect(acceptStore(store, from, slotKey, enc(b, 1n, 1_000), 'relay-info')).toBe('InvalidKey');
    expect(RELAY_INFOS.validFor(slotKey, store.get(slotKey)!)?.relayPeer).toEqual(a.publicKeyBytes());
  });

  it('checks each value by its declared kind: no crossing between records and relay infos', () => {
    const store = new ProtectedStore({}, new ManualClock(0));
    const from = rng.bytes(32);
    expect(acceptStore(store, from, ownKey, enc(a, 1n), 'record')).toBe('InvalidKey');
    const record = encodeEndpointRecord(signEndpointRecord(a, { addrs: ['192.0.2.1:1'], relays: [], sequence: 1n, timestampMs: 1 }));
    expect(acceptStore(store, from, endpointRecordKey(a.identity), record, 'relay-info')).toBe('InvalidKey');
    expect(store.size).toBe(0);
  });
});
