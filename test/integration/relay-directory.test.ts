/**
 * Relays publish their RelayInfo in the DHT and clients find, resolve and rank them from it, over
 * a 40-node in-memory network in virtual time. Each relay runs a RelayServer core (its load is
 * real: sessions / maxSessions) and a RelayInfoPublisher; hostile peers try to store forged infos
 * and serve forged bytes from their own storage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import type { Contact, Key } from '../../src/core/types.js';
import { compareDistance } from '../../src/dht/distance.js';
import { RELAY_INFOS } from '../../src/dht/signed-values.js';
import { Keypair } from '../../src/identity/keypair.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import { RelayClient } from '../../src/nat/relay/relay-client.js';
import {
  encodeRelayInfo,
  relayDirectoryKey,
  relayDirectorySlot,
  relayInfoKey,
  RELAY_DIRECTORY_SLOTS,
  signRelayInfo,
  verifyRelayInfo,
  type RelayInfo,
} from '../../src/nat/relay/relay-info.js';
import { RelayServer } from '../../src/nat/relay/relay-server.js';
import { RelayInfoPublisher } from '../../src/traversal/relay-info-publisher.js';
import { settle, settleUntil } from '../support/virtual-time.js';
import { bootstrapAll, buildNet, type Net, type Peer } from './dht-harness.js';

const N = 40;
const SESSIONS = [9, 1, 5, 3, 7]; // per relay, out of 10: loads 0.9, 0.1, 0.5, 0.3, 0.7

interface Relay {
  peer: Peer;
  server: RelayServer;
  publisher: RelayInfoPublisher;
}

const hex = (id: Uint8Array): string => toHex(id);
const fake = (n: number): Contact => ({ id: new Uint8Array(32).fill(n), addr: `10.9.0.${n}:4433` });

/** Give `server` `n` more (pending) sessions between made-up peers. */
function addSessions(server: RelayServer, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) {
    const a = fake(2 * i + 1);
    const b = fake(2 * i + 2);
    server.peerConnected(a);
    server.peerConnected(b);
    server.handle(a, { type: 'RelayConnect', from: a, target: b.id, sessionId: new Uint8Array(8).fill(i + 1) }, 0);
  }
}

/** Resolves once `cond` holds, looking every second of virtual time. */
/** The peers the DHT would store `key` on: the k closest to it. */
function holders(net: Net, key: Key, k: number): Peer[] {
  return net.peers.slice().sort((a, b) => compareDistance(key, a.contact.id, b.contact.id)).slice(0, k);
}

describe('relay directory over a 40-node in-memory DHT (virtual time)', () => {
  let net: Net;
  let relays: Relay[];
  let client: Peer;
  let hostile: Peer;
  const mallory = Keypair.generate(new SeededRng(666).bytes(32));

  beforeAll(async () => {
    net = await buildNet(N, 4711, { maintenance: false });
    await settle(net.clock, net.peers[0]!.dht.bootstrap([]));
    await bootstrapAll(net);
    // five relays, each in its own directory slot
    const slots = new Set<number>();
    const chosen = net.peers.slice(1, N - 2).filter((p) => {
      const slot = relayDirectorySlot(p.contact.id);
      if (slots.has(slot) || slots.size === SESSIONS.length) return false;
      slots.add(slot);
      return true;
    });
    relays = chosen.map((peer, i) => {
      const server = new RelayServer(
        { identity: peer.keypair.identity, nodeId: peer.contact.id, addrs: [] },
        { maxSessions: 10, region: i % 2 === 0 ? 'eu' : 'us' },
      );
      addSessions(server, SESSIONS[i]!);
      const publisher = new RelayInfoPublisher({
        dht: peer.dht,
        keypair: peer.keypair,
        info: () => ({ ...server.relayInfo(), relayAddrs: [peer.contact.addr] }),
        components: { clock: net.clock, rng: net.rng.fork(), logger: silentLogger, metrics: noopMetrics },
      });
      return { peer, server, publisher };
    });
    for (const r of relays) {
      const first = await settle(net.clock, r.publisher.start());
      expect(first?.own.accepted).toBeGreaterThan(0);
      expect(first?.directory.accepted).toBeGreaterThan(0);
    }
    client = net.peers[N - 1]!;
    hostile = net.peers[N - 2]!;
  });

  afterAll(() => {
    for (const r of relays) r.publisher.stop();
  });

  it('a client discovers every relay from the directory, verified, newest first', async () => {
    const found = await settle(net.clock, client.dht.discoverRelays());
    expect(new Set(found.map((i) => hex(i.relayPeer)))).toEqual(new Set(relays.map((r) => hex(r.peer.keypair.identity))));
    expect(found.every(verifyRelayInfo)).toBe(true);
    for (let i = 1; i < found.length; i++) expect(found[i - 1]!.timestampMs).toBeGreaterThanOrEqual(found[i]!.timestampMs);
    const r2 = found.find((i) => hex(i.relayPeer) === hex(relays[2]!.peer.keypair.identity))!;
    expect(r2).toMatchObject({ load: 0.5, accepting: true, rttMs: null, tier: null, relayAddrs: [relays[2]!.peer.contact.addr] });
    expect(r2.capabilities).toMatchObject({ turn: true, region: 'eu', maxBandwidthKbps: 2097 });
  });

  it('resolves one relay by its own key', async () => {
    const r = relays[3]!;
    const info = await settle(net.clock, client.dht.resolveRelayInfo(r.peer.contact.id));
    expect(info?.relayPeer).toEqual(r.peer.keypair.identity);
    expect(info?.load).toBe(0.3);
    expect(info?.sequence).toBe(BigInt(r.publisher.status().lastSequence!));
    expect(await settle(net.clock, client.dht.resolveRelayInfo(new Uint8Array(32).fill(0xee)))).toBeNull();
    // a plain findValue believes a genuine RelayInfo under its key too
    const plain = await settle(net.clock, client.dht.findValue(relayInfoKey(r.peer.contact.id), { checkLocal: false }));
    expect(RELAY_INFOS.validFor(relayInfoKey(r.peer.contact.id), plain.value!)?.load).toBe(0.3);
  });

  it('ranks the discovered relays with a RelayClient, follows a load change and fails over', async () => {
    const ranking = new RelayClient({ clock: net.clock });
    expect(ranking.updateFromInfos(await settle(net.clock, client.dht.discoverRelays()))).toBe(relays.length);
    const order = (): string[] => ranking.rankedRelays().map((r) => hex(r.nodeId));
    const ids = relays.map((r) => hex(r.peer.contact.id));
    // unmeasured: by load alone
    expect(order()).toEqual([1, 3, 2, 4, 0].map((i) => ids[i]));
    // our own RTT measurement moves relay 2 ahead (150 + 50 < 200 + 10)
    ranking.updateRelayRtt(relays[2]!.peer.contact.id, 150, 0);
    expect(order()[0]).toBe(ids[2]);

    // relay 2 fills up: its publisher republishes at the next check, and the client follows
    const r = relays[2]!;
    const before = r.publisher.status().published;
    addSessions(r.server, 4, 100);
    await settleUntil(net.clock, 'the next publication', () => r.publisher.status().published > before);
    const fresh = await settle(net.clock, client.dht.resolveRelayInfo(r.peer.contact.id));
    expect(ranking.updateFromInfos([fresh!])).toBe(1);
    expect(ranking.rankedRelays().find((x) => hex(x.nodeId) === ids[2])).toMatchObject({ score: 150 + 90, info: { load: 0.9, rttMs: 150 } });
    expect(order()).toEqual([1, 3, 2, 4, 0].map((i) => ids[i]));

    // a connection through the best relay failed: the next one takes over
    ranking.markFailed(relays[1]!.peer.contact.id);
    expect(order()[0]).toBe(ids[3]);
  });

  it('refuses forged infos a hostile peer stores, and never returns the ones it serves', async () => {
    const victim = relays[0]!;
    const ownKey = relayInfoKey(victim.peer.contact.id);
    const slotKey = relayDirectoryKey(relayDirectorySlot(victim.peer.contact.id));
    const lure: Omit<RelayInfo, 'relayPeer'> = { ...victim.server.relayInfo(), relayAddrs: ['6.6.6.6:666'], load: 0 };
    const signed = signRelayInfo(mallory, lure, 1n << 40n, net.clock.now() + 3_600_000);
    const forged = encodeRelayInfo({ ...signed, relayPeer: victim.peer.keypair.identity });

    for (const key of [ownKey, slotKey]) {
      const r = await settle(net.clock, hostile.dht.store(key, forged, 'relay-info'));
      expect(r.accepted).toBe(0);
      expect(r.acks.length).toBeGreaterThan(0);
      expect(r.acks.every((a) => a.rejection === 'InvalidKey')).toBe(true);
      // mallory's own genuine info does not belong under the victim's keys either
      const misplaced = await settle(net.clock, hostile.dht.store(key, encodeRelayInfo(signed), 'relay-info'));
      expect(misplaced.accepted).toBe(0);
    }

    // Hostile holders: most of the nodes storing the victim's keys (and a free slot) serve forged
    // bytes from their own storage, as a malicious node would.
    const free = [...Array(RELAY_DIRECTORY_SLOTS).keys()].find((s) => !relays.some((r) => relayDirectorySlot(r.peer.contact.id) === s))!;
    const k = client.dht.k;
    for (const key of [ownKey, slotKey, relayDirectoryKey(free)]) {
      const bad = holders(net, key, k).filter((p) => p !== client).slice(0, k - 3);
      for (const p of bad) expect(p.dht.storage.put(mallory.nodeId, key, forged, { verifyContent: false, trusted: true })).toBeNull();
    }

    // the lookup is offered forged bytes, refuses them and goes on to a genuine holder
    let refused = 0;
    const believe = (v: Uint8Array): boolean => RELAY_INFOS.validFor(ownKey, v) !== undefined || (refused++, false);
    const direct = await settle(net.clock, client.dht.findValue(ownKey, { validate: believe, checkLocal: false }));
    expect(refused).toBeGreaterThan(0);
    expect(RELAY_INFOS.validFor(ownKey, direct.value!)?.relayAddrs).toEqual([victim.peer.contact.addr]);

    const found = await settle(net.clock, client.dht.discoverRelays());
    expect(found.map((i) => i.relayAddrs[0])).not.toContain('6.6.6.6:666');
    expect(found.every(verifyRelayInfo)).toBe(true);
    expect(found.find((i) => hex(i.relayPeer) === hex(victim.peer.keypair.identity))?.relayAddrs).toEqual([victim.peer.contact.addr]);
    const resolved = await settle(net.clock, client.dht.resolveRelayInfo(victim.peer.contact.id));
    expect(resolved?.relayAddrs).toEqual([victim.peer.contact.addr]);
    expect(verifyRelayInfo(resolved!)).toBe(true);
  });
});
