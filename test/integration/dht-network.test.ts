import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import type { Contact } from '../../src/core/types.js';
import { compareDistance } from '../../src/dht/distance.js';
import {
  encodeEndpointRecord,
  endpointRecordKey,
  MAX_ENDPOINT_RECORD_SIZE,
  signEndpointRecord,
} from '../../src/identity/endpoint-record.js';
import { Keypair } from '../../src/identity/keypair.js';
import { hashContent } from '../../src/identity/node-id.js';
import { settle } from '../support/virtual-time.js';
import { bootstrapAll, buildNet, type Net } from './dht-harness.js';

const N = 50;

function bruteClosest(contacts: Contact[], target: Uint8Array, n: number): Contact[] {
  return contacts.slice().sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, n);
}

describe('DHT over a 50-node in-memory network (virtual time)', () => {
  let net: Net;

  beforeAll(async () => {
    net = await buildNet(N, 1234, { maintenance: false });
    await settle(net.clock, net.peers[0]!.dht.bootstrap([]));
    await bootstrapAll(net);
  });

  it('fills every routing table', () => {
    for (const p of net.peers) expect(p.dht.table.size).toBeGreaterThanOrEqual(10);
  });

  it('iterativeFindNode returns the true k closest nodes', async () => {
    const all = net.peers.map((p) => p.contact);
    for (let i = 0; i < 20; i++) {
      const origin = net.peers[net.rng.int(N)]!;
      const target = net.rng.bytes(32);
      const r = await settle(net.clock, origin.dht.iterativeFindNode(target));
      const expected = bruteClosest(all.filter((c) => c.addr !== origin.contact.addr), target, origin.dht.k);
      expect(r.closest.map((c) => toHex(c.id))).toEqual(expected.map((c) => toHex(c.id)));
      expect(r.rounds).toBeGreaterThanOrEqual(1);
      expect(r.finishedAt).toBeGreaterThan(r.startedAt);
    }
  });

  it('put stores on the k closest and findValue from elsewhere returns the value', async () => {
    const value = new TextEncoder().encode('hello quicmesh');
    const stored = await settle(net.clock, net.peers[3]!.dht.put(value));
    expect(stored.key).toEqual(hashContent(value));
    expect(stored.accepted).toBeGreaterThanOrEqual(net.peers[3]!.dht.k - 1);
    expect(stored.acks.every((a) => a.rejection === null && a.error === undefined)).toBe(true);
    // the holders are the k closest to the key
    const holders = net.peers.filter((p) => p.dht.storage.has(stored.key)).map((p) => p.contact);
    const expected = bruteClosest(net.peers.map((p) => p.contact), stored.key, holders.length);
    expect(new Set(holders.map((c) => c.addr))).toEqual(new Set(expected.map((c) => c.addr)));

    const reader = net.peers.find((p) => !p.dht.storage.has(stored.key))!;
    const found = await settle(net.clock, reader.dht.findValue(stored.key));
    expect(found.value).toEqual(value);
    expect(found.valueFrom).toBeDefined();
    expect(found.queried).toBeGreaterThan(0);
  });

  it('findValue of an unknown key ends without a value', async () => {
    const r = await settle(net.clock, net.peers[7]!.dht.findValue(net.rng.bytes(32)));
    expect(r.value).toBeUndefined();
    expect(r.closest.length).toBeGreaterThan(0);
  });

  it('a value that does not hash to its key is refused by every node', async () => {
    const key = hashContent(new Uint8Array([1]));
    const r = await settle(net.clock, net.peers[8]!.dht.store(key, new Uint8Array([2]), 'content'));
    expect(r.accepted).toBe(0);
    expect(r.acks.every((a) => a.rejection === 'InvalidKey')).toBe(true);
  });

  it('publishes and resolves an endpoint record; republish replaces it with a higher sequence', async () => {
    const owner = net.peers[11]!;
    const pub = await settle(net.clock, owner.dht.publishAddress(owner.keypair, ['192.0.2.1:4433']));
    expect(pub.accepted).toBeGreaterThan(0);
    const reader = net.peers[40]!;
    const rec = await settle(net.clock, reader.dht.resolvePeer(owner.keypair.identity));
    expect(rec?.addrs).toEqual(['192.0.2.1:4433']);
    expect(rec?.sequence).toBe(pub.record.sequence);

    const again = await settle(
      net.clock,
      owner.dht.republishOnNetworkChange(owner.keypair, ['198.51.100.7:4433'], [{ relayId: net.peers[1]!.contact.id, addrs: ['203.0.113.9:4433'] }]),
    );
    expect(again.record.sequence).toBeGreaterThan(pub.record.sequence);
    expect(again.accepted).toBeGreaterThan(0);
    const rec2 = await settle(net.clock, net.peers[41]!.dht.resolvePeer(owner.keypair.identity));
    expect(rec2?.addrs).toEqual(['198.51.100.7:4433']);
    expect(rec2?.relays[0]?.addrs).toEqual(['203.0.113.9:4433']);
  });

  it('refuses forged, stale and oversized records; resolution still returns the genuine one', async () => {
    const owner = net.peers[12]!;
    const pub = await settle(net.clock, owner.dht.publishAddress(owner.keypair, ['192.0.2.12:4433']));
    const key = endpointRecordKey(owner.keypair.identity);
    const attacker = net.peers[30]!;

    // forged: claims the owner's identity, signed by someone else
    const mallory = Keypair.generate(net.rng.bytes(32));
    const signed = signEndpointRecord(mallory, { addrs: ['6.6.6.6:666'], relays: [], sequence: pub.record.sequence + 10n, timestampMs: 1 });
    const forged = encodeEndpointRecord({ ...signed, identity: owner.keypair.identity });
    const f = await settle(net.clock, attacker.dht.store(key, forged, 'record'));
    expect(f.accepted).toBe(0);
    expect(f.acks.length).toBeGreaterThan(0);
    expect(f.acks.every((a) => a.rejection === 'InvalidKey')).toBe(true);

    // stale: genuinely signed by the owner, but an older sequence
    const old = encodeEndpointRecord(
      signEndpointRecord(owner.keypair, { addrs: ['10.9.9.9:1'], relays: [], sequence: pub.record.sequence - 1n, timestampMs: 1 }),
    );
    const s = await settle(net.clock, attacker.dht.store(key, old, 'record'));
    expect(s.accepted).toBe(0);
    expect(s.acks.every((a) => a.rejection === 'InvalidKey')).toBe(true);

    // a genuine record under someone else's key
    const wrongKey = await settle(net.clock, attacker.dht.store(endpointRecordKey(mallory.identity), encodeEndpointRecord(pub.record), 'record'));
    expect(wrongKey.accepted).toBe(0);

    // oversized
    const big = new Uint8Array(MAX_ENDPOINT_RECORD_SIZE + 1);
    const o = await settle(net.clock, attacker.dht.store(key, big, 'record'));
    expect(o.accepted).toBe(0);
    expect(o.acks.every((a) => a.rejection === 'ValueTooLarge')).toBe(true);

    const rec = await settle(net.clock, net.peers[45]!.dht.resolvePeer(owner.keypair.identity));
    expect(rec?.addrs).toEqual(['192.0.2.12:4433']);
    expect(rec?.sequence).toBe(pub.record.sequence);

    // re-storing the identical record is accepted (harmless republish)
    const same = await settle(net.clock, attacker.dht.store(key, encodeEndpointRecord(pub.record), 'record'));
    expect(same.acks.every((a) => a.rejection === null)).toBe(true);
  });

  it('resolvePeer of an identity that never published gives null', async () => {
    const nobody = Keypair.generate(net.rng.bytes(32));
    expect(await settle(net.clock, net.peers[2]!.dht.resolvePeer(nobody.identity))).toBeNull();
  });

  it('reports a telemetry snapshot', () => {
    const t = net.peers[3]!.dht.telemetrySnapshot();
    expect(t.replicationFactor).toBe(net.peers[3]!.dht.k);
    expect(t.concurrency).toBeGreaterThanOrEqual(2);
    expect(t.routingTableSize).toBe(net.peers[3]!.dht.table.size);
    expect(t.storedKeys).toBe(net.peers[3]!.dht.storage.size);
    expect(t.pressure).toBeGreaterThanOrEqual(0);
    expect(t.tierCounts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(0);
    expect(t.tierCentroids.length).toBe(t.tierCounts.length);
  });

  it('finds the closest live node after a fifth of the network left, and evicts the dead', async () => {
    const gone = net.peers.slice(N - 10);
    for (const p of gone) {
      p.dht.stop();
      await p.mesh.stop();
    }
    const live = net.peers.slice(0, N - 10);
    const goneIds = new Set(gone.map((p) => toHex(p.contact.id)));
    for (let i = 0; i < 15; i++) {
      const origin = live[net.rng.int(live.length)]!;
      const target = net.rng.bytes(32);
      const r = await settle(net.clock, origin.dht.iterativeFindNode(target));
      const expected = bruteClosest(live.filter((p) => p !== origin).map((p) => p.contact), target, 1)[0]!;
      expect(toHex(r.closest[0]!.id)).toBe(toHex(expected.id));
      expect(r.closest.some((c) => goneIds.has(toHex(c.id)))).toBe(false);
    }
    const stillListed = live.reduce((n, p) => n + p.dht.table.allContacts().filter((c) => goneIds.has(toHex(c.id))).length, 0);
    const before = live.length * gone.length;
    expect(stillListed).toBeLessThan(before);
  });
});
