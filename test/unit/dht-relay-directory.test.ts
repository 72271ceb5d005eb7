import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { ManualClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import type { Key } from '../../src/core/types.js';
import type { StoreResult } from '../../src/dht/dht-types.js';
import type { LookupResult } from '../../src/dht/lookup.js';
import { RelayDirectory } from '../../src/dht/relay-directory.js';
import { ConfigError, DecodeError } from '../../src/errors.js';
import { Keypair } from '../../src/identity/keypair.js';
import {
  decodeRelayInfo,
  encodeRelayInfo,
  relayDirectoryKey,
  relayDirectorySlot,
  relayInfoKey,
  RELAY_DIRECTORY_SLOTS,
  signRelayInfo,
  verifyRelayInfo,
  type RelayInfo,
} from '../../src/nat/relay/relay-info.js';
import { flush } from '../support/virtual-time.js';

const rng = new SeededRng(99);
const infoOf = (kp: Keypair, over: Partial<RelayInfo> = {}): RelayInfo => ({
  relayPeer: kp.publicKeyBytes(),
  relayAddrs: ['203.0.113.7:4433'],
  load: 0.2,
  accepting: true,
  rttMs: null,
  tier: null,
  capabilities: { stun: true, turn: true, iceLite: false, maxBandwidthKbps: 8_000, region: null },
  ...over,
});

function result(target: Key, value: Uint8Array | undefined): LookupResult {
  return {
    target, mode: 'value', closest: [], spare: [], ...(value ? { value } : {}),
    rounds: 1, hopsToClosest: 1, queried: 1, responses: 1, failures: 0, timeouts: 0, startedAt: 0, finishedAt: 0,
  };
}

/**
 * A fake DHT: `store` records, `findValue` offers the values held for a key in order, as answers
 * from successive peers, and returns the first that `validate` believes (as a lookup does).
 */
function fakeDht(clock = new ManualClock(1_000)) {
  const held = new Map<string, Uint8Array[]>();
  const stored: { key: Key; value: Uint8Array }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const dir = new RelayDirectory({
    clock,
    store: (key, value) => {
      stored.push({ key, value });
      return Promise.resolve({ key, acks: [], accepted: 3, local: undefined, spilled: false, lookup: result(key, undefined) } as StoreResult);
    },
    findValue: async (key, validate) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await flush();
      inFlight--;
      return result(key, (held.get(toHex(key)) ?? []).find(validate));
    },
  });
  const hold = (key: Key, ...values: Uint8Array[]): void => {
    held.set(toHex(key), [...(held.get(toHex(key)) ?? []), ...values]);
  };
  return { clock, dir, stored, hold, maxInFlight: () => maxInFlight };
}

/** `n` relays in distinct directory slots. */
function relaysInDistinctSlots(n: number): Keypair[] {
  const bySlot = new Map<number, Keypair>();
  while (bySlot.size < n) {
    const kp = Keypair.generate(rng.bytes(32));
    if (!bySlot.has(relayDirectorySlot(kp.nodeId))) bySlot.set(relayDirectorySlot(kp.nodeId), kp);
  }
  return [...bySlot.values()];
}

describe('RelayDirectory.publish', () => {
  it('signs a fresh sequence (>= clock ms, above the last) and stores the same bytes under both keys', async () => {
    const { dir, stored } = fakeDht(new ManualClock(5_000));
    const kp = Keypair.generate(rng.bytes(32));
    const first = await dir.publish(kp, infoOf(kp, { rttMs: 12, tier: 1 }));
    expect(first.info.sequence).toBe(5_000n);
    expect(first.info.timestampMs).toBe(5_000);
    expect(first.info.rttMs).toBeNull(); // a client's measurement, never published
    expect(first.info.tier).toBeNull();
    expect(verifyRelayInfo(first.info)).toBe(true);
    expect(first.accepted).toBe(6);
    expect(stored.map((s) => toHex(s.key))).toEqual([
      toHex(relayInfoKey(kp.nodeId)),
      toHex(relayDirectoryKey(relayDirectorySlot(kp.nodeId))),
    ]);
    expect(stored[0]!.value).toEqual(stored[1]!.value);
    expect(decodeRelayInfo(stored[0]!.value)).toEqual(first.info);

    const second = await dir.publish(kp, infoOf(kp, { load: 0.6 })); // same clock instant
    expect(second.info.sequence).toBe(5_001n);
  });

  it('refuses an info for another key, and a bad field before using a sequence', async () => {
    const { dir, stored } = fakeDht(new ManualClock(7));
    const kp = Keypair.generate(rng.bytes(32));
    const other = Keypair.generate(rng.bytes(32));
    await expect(dir.publish(kp, infoOf(other))).rejects.toBeInstanceOf(ConfigError);
    await expect(dir.publish(kp, infoOf(kp, { load: 2 }))).rejects.toBeInstanceOf(DecodeError);
    expect(stored).toEqual([]);
    expect((await dir.publish(kp, infoOf(kp))).info.sequence).toBe(7n);
  });
});

describe('RelayDirectory.resolve and discover', () => {
  const [r1, r2, r3] = relaysInDistinctSlots(3) as [Keypair, Keypair, Keypair];
  const genuine = (kp: Keypair, ts: number, over: Partial<RelayInfo> = {}): Uint8Array =>
    encodeRelayInfo(signRelayInfo(kp, infoOf(kp, over), BigInt(ts), ts));
  const forgedAs = (victim: Keypair, ts: number): Uint8Array => {
    const mallory = Keypair.generate(rng.bytes(32));
    const signed = signRelayInfo(mallory, infoOf(mallory, { relayAddrs: ['6.6.6.6:666'] }), BigInt(ts), ts);
    return encodeRelayInfo({ ...signed, relayPeer: victim.publicKeyBytes() });
  };

  it('resolve skips forged and misplaced values and returns the genuine one, or null', async () => {
    const { dir, hold } = fakeDht();
    hold(relayInfoKey(r1.nodeId), forgedAs(r1, 900), genuine(r2, 900), Uint8Array.of(1, 2), genuine(r1, 800));
    const got = await dir.resolve(r1.nodeId);
    expect(got?.relayPeer).toEqual(r1.publicKeyBytes());
    expect(got?.relayAddrs).toEqual(['203.0.113.7:4433']);
    hold(relayInfoKey(r2.nodeId), forgedAs(r2, 900));
    expect(await dir.resolve(r2.nodeId)).toBeNull();
  });

  it('discover reads every slot with bounded concurrency, drops forgeries, newest first', async () => {
    const { dir, hold, maxInFlight } = fakeDht();
    const slot = (kp: Keypair): Key => relayDirectoryKey(relayDirectorySlot(kp.nodeId));
    hold(slot(r1), forgedAs(r1, 990), genuine(r1, 500));
    hold(slot(r2), genuine(r2, 700));
    hold(slot(r3), forgedAs(r3, 990)); // only a forgery: r3 is not found
    // a genuine relay of another slot, planted in a free slot: misplaced, skipped
    const free = [...Array(RELAY_DIRECTORY_SLOTS).keys()].find((s) => ![r1, r2, r3].some((kp) => relayDirectorySlot(kp.nodeId) === s))!;
    hold(relayDirectoryKey(free), genuine(r3, 999));

    const found = await dir.discover({ concurrency: 3 });
    expect(found.map((i) => toHex(i.relayPeer))).toEqual([toHex(r2.publicKeyBytes()), toHex(r1.publicKeyBytes())]);
    expect(found.every(verifyRelayInfo)).toBe(true);
    expect(maxInFlight()).toBe(3);
  });

  it('discover leaves out infos older than maxAgeMs and refuses a bad concurrency', async () => {
    const { dir, hold } = fakeDht(new ManualClock(10_000));
    hold(relayDirectoryKey(relayDirectorySlot(r1.nodeId)), genuine(r1, 9_000));
    hold(relayDirectoryKey(relayDirectorySlot(r2.nodeId)), genuine(r2, 2_000));
    expect((await dir.discover({ maxAgeMs: 5_000 })).map((i) => toHex(i.relayPeer))).toEqual([toHex(r1.publicKeyBytes())]);
    expect(await dir.discover()).toHaveLength(2);
    await expect(dir.discover({ concurrency: 0 })).rejects.toBeInstanceOf(ConfigError);
  });
});
