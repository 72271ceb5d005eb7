/**
 * The DHT over real QUIC on loopback: twelve full nodes (MeshNode + DhtNode on QuicTransport,
 * real clock) join through one seed, then store/find-value content and publish/resolve signed
 * endpoint records, and a forged record is refused by the nodes that would store it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../src/core/clock.js';
import { bytesEqual, toHex } from '../../src/core/bytes.js';
import { silentLogger } from '../../src/core/logger.js';
import { CryptoRng } from '../../src/core/rng.js';
import { encodeEndpointRecord, endpointRecordKey, signEndpointRecord } from '../../src/identity/endpoint-record.js';
import { Keypair } from '../../src/identity/keypair.js';
import { hashContent } from '../../src/identity/node-id.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import { createNode, type NodeAssembly } from '../../src/node/create-node.js';
import { QuicTransport } from '../../src/transport/quic/index.js';

const N = 12;

interface Peer {
  keypair: Keypair;
  node: NodeAssembly;
}

function makePeer(bootstrap: string[]): Peer {
  const keypair = Keypair.generate();
  const components = { clock: new SystemClock(), rng: new CryptoRng(), logger: silentLogger, metrics: noopMetrics };
  const transport = new QuicTransport({ keypair, host: '127.0.0.1', port: 0, components });
  // No maintenance timers: the test drives every lookup itself.
  const node = createNode({ keypair, transport, components, bootstrap, dht: { maintenance: false } });
  return { keypair, node };
}

describe(`DHT over QUIC on loopback (${N} nodes)`, () => {
  const peers: Peer[] = [];

  beforeAll(async () => {
    const seed = makePeer([]);
    await seed.node.start();
    await seed.node.bootstrap();
    peers.push(seed);
    const seedAddr = seed.node.meshNode.contact.addr;
    const rest = Array.from({ length: N - 1 }, () => makePeer([seedAddr]));
    await Promise.all(rest.map((p) => p.node.start()));
    // Join one after another, as nodes arriving over time would; each join is a real QUIC exchange.
    for (const p of rest) {
      const results = await p.node.bootstrap();
      expect(results.every((r) => r.ok)).toBe(true);
      peers.push(p);
    }
    // A second pass of self-lookups lets early joiners learn about later ones.
    for (const p of peers) await p.node.services.dht.iterativeFindNode(p.node.meshNode.nodeId);
  });

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.node.stop()));
  });

  it('every node finds every other node by id', async () => {
    for (const p of peers) {
      const target = peers[(peers.indexOf(p) + 5) % N]!;
      const r = await p.node.services.dht.iterativeFindNode(target.node.meshNode.nodeId);
      expect(r.closest.map((c) => toHex(c.id))).toContain(toHex(target.node.meshNode.nodeId));
    }
  });

  it('stores content on the closest nodes and finds it from anywhere', async () => {
    const value = new TextEncoder().encode('hello over quic '.repeat(100));
    const put = await peers[3]!.node.services.dht.put(value);
    expect(bytesEqual(put.key, hashContent(value))).toBe(true);
    expect(put.accepted).toBeGreaterThanOrEqual(Math.min(N - 1, 3));
    for (const p of [peers[0]!, peers[7]!, peers[11]!]) {
      const found = await p.node.services.dht.findValue(put.key);
      expect(found.value && bytesEqual(found.value, value)).toBe(true);
    }
  });

  it('publishes and resolves signed endpoint records, newest sequence wins', async () => {
    const owner = peers[5]!;
    const resolver = peers[9]!;
    const first = await resolver.node.services.dht.resolvePeer(owner.keypair.identity);
    expect(first?.addrs).toEqual([owner.node.meshNode.contact.addr]);

    await owner.node.services.dht.republishOnNetworkChange(owner.keypair, ['127.0.0.1:40001'], []);
    const second = await resolver.node.services.dht.resolvePeer(owner.keypair.identity);
    expect(second?.addrs).toEqual(['127.0.0.1:40001']);
    expect(second!.sequence > first!.sequence).toBe(true);
  });

  it('refuses a record signed by a key other than the identity it is stored under', async () => {
    const victim = peers[2]!;
    const mallory = Keypair.generate();
    const forged = signEndpointRecord(mallory, {
      addrs: ['127.0.0.1:6666'],
      relays: [],
      sequence: 1_000_000n,
      timestampMs: Date.now(),
    });
    // Store Mallory's record under the victim's record key: every receiving node must refuse it.
    const key = endpointRecordKey(victim.keypair.identity);
    const result = await peers[4]!.node.services.dht.store(key, encodeEndpointRecord(forged), 'record');
    expect(result.acks.length).toBeGreaterThan(0);
    expect(result.acks.every((a) => a.rejection !== null || a.error !== undefined)).toBe(true);
    const resolved = await peers[8]!.node.services.dht.resolvePeer(victim.keypair.identity);
    expect(resolved?.addrs).toEqual([victim.node.meshNode.contact.addr]);
  });
});
