/**
 * Smart connections over real QUIC on loopback: a relay node and two nodes linked to it, all on
 * 127.0.0.1. A connect from an endpoint record goes direct; a relay-first connect runs over the
 * relay (packets as relay frames in DATAGRAM frames) and is then upgraded by a hole punch and a
 * QUIC migration while a numbered stream flows: the peer counts every byte, in order.
 * (Loopback has no NAT: what is proven here is the machinery; the lab proves it through real NATs.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesEqual } from '../../src/core/bytes.js';
import { SystemClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { CryptoRng } from '../../src/core/rng.js';
import { Keypair } from '../../src/identity/keypair.js';
import { PromMetrics } from '../../src/metrics/prom.js';
import { createNode, type CreateNodeOptions, type NodeAssembly } from '../../src/node/create-node.js';
import { probePeer } from '../../src/traversal/probe.js';
import { runStreamCheck } from '../../src/node/stream-check.js';
import { QuicTransport } from '../../src/transport/quic/index.js';

interface Peer {
  node: NodeAssembly;
  transport: QuicTransport;
  metrics: PromMetrics;
}

function makePeer(opts: Partial<CreateNodeOptions>): Peer {
  const keypair = Keypair.generate();
  const metrics = new PromMetrics();
  const components = { clock: new SystemClock(), rng: new CryptoRng(), logger: silentLogger, metrics };
  const transport = new QuicTransport({ keypair, host: '127.0.0.1', port: 0, components });
  const node = createNode({ keypair, transport, components, dht: { maintenance: false }, answerStreamChecks: true, pubsub: false, ...opts });
  return { node, transport, metrics };
}

describe('smart connections over QUIC on loopback', () => {
  let relay: Peer;
  let alice: Peer;
  let bob: Peer;

  beforeAll(async () => {
    relay = makePeer({ relay: true });
    await relay.node.start();
    await relay.node.bootstrap();
    const relayAddr = relay.node.meshNode.contact.addr;
    alice = makePeer({ bootstrap: [relayAddr], relays: [relayAddr] });
    bob = makePeer({ bootstrap: [relayAddr], relays: [relayAddr] });
    for (const p of [alice, bob]) {
      await p.node.start();
      await p.node.services.relayLink!.keepAlive();
      await p.node.bootstrap();
    }
    // Their first relay-directory reads are DHT lookups that may dial each other (loopback has no
    // NAT to stop them): let them finish, so the connections under test are the only ones.
    await Promise.all([alice, bob].map((p) => p.node.services.relayRanking!.firstRefresh));
  });

  afterAll(async () => {
    await Promise.all([alice, bob, relay].map((p) => p.node.stop()));
  });

  const target = () => ({
    addr: bob.node.meshNode.contact.addr,
    nodeId: bob.node.meshNode.nodeId,
    identity: bob.node.meshNode.keypair.identity,
  });

  it('resolves the peer endpoint record and connects directly', async () => {
    const r = await probePeer(alice.node.meshNode, target(), { fresh: true, timeoutMs: 5_000 });
    expect(r).toMatchObject({ connected: true, path: 'direct', recordFound: true });
    expect(alice.transport.pathInfo(bob.node.meshNode.nodeId)).toMatchObject({ relayed: false, opener: true });
  });

  it('a connect that punches at once sends its request to the rendezvous before its dials leave', async () => {
    // carol punches with no head start for her plain dials (as toward a peer whose record shows a NAT)
    const relayAddr = relay.node.meshNode.contact.addr;
    const carol = makePeer({ bootstrap: [relayAddr], relays: [relayAddr], connect: { punchDelayMs: 0 } });
    await carol.node.start();
    await carol.node.services.relayLink!.keepAlive();
    const ep = carol.transport.endpoint;
    const sent: string[] = [];
    const sendPacket = ep.sendPacket.bind(ep);
    const send = ep.send.bind(ep);
    ep.sendPacket = (buf, len, to) => {
      sent.push(`${to.host}:${to.port}`);
      sendPacket(buf, len, to);
    };
    ep.send = (bytes, host, port) => {
      sent.push(`${host}:${port}`);
      send(bytes, host, port);
    };
    try {
      const r = await probePeer(carol.node.meshNode, { addr: bob.node.meshNode.contact.addr, nodeId: bob.node.meshNode.nodeId }, { fresh: true, timeoutMs: 5_000 });
      expect(r).toMatchObject({ connected: true });
    } finally {
      ep.sendPacket = sendPacket;
      ep.send = send;
      await carol.node.stop();
    }
    const toRelay = sent.indexOf(relayAddr);
    const toBob = sent.indexOf(bob.node.meshNode.contact.addr);
    expect(toRelay).toBeGreaterThanOrEqual(0);
    expect(toBob).toBeGreaterThan(toRelay); // the pre-check and the Initial leave after the punch request
  });

  it('smartConnect(record) connects from a resolved endpoint record and refuses a forged one', async () => {
    const record = await alice.node.services.dht.resolvePeer(bob.node.meshNode.keypair.identity);
    expect(record).not.toBeNull();
    const out = await alice.node.smartConnect(record!, { fresh: true, timeoutMs: 5_000 });
    expect(out.connection).toMatchObject({ kind: 'Direct', addr: bob.node.meshNode.contact.addr });
    expect(out.path).toBe('direct');
    const forged = { ...record!, addrs: ['127.0.0.1:9'] };
    await expect(alice.node.smartConnect(forged)).rejects.toThrow(/signature/);
  });

  it('connects through the relay first, then upgrades to direct by migration while a stream flows', async () => {
    const bobId = bob.node.meshNode.nodeId;
    const r = await probePeer(alice.node.meshNode, target(), { fresh: true, timeoutMs: 5_000, relayFirst: true, upgradeAfterMs: 400 });
    expect(r).toMatchObject({ connected: true, path: 'relayed' });
    expect(alice.transport.pathInfo(bobId)).toMatchObject({ relayed: true, opener: true });
    const relayedAddr = alice.transport.pathInfo(bobId)!.addr;
    const check = await runStreamCheck(alice.transport, alice.node.meshNode.components, { addr: relayedAddr, nodeId: bobId }, {
      durationMs: 1_500,
      rateKbps: 4_000,
    });
    expect(check).toMatchObject({ intact: true, peerErrors: 0 });
    expect(check.peerBytes).toBe(check.sentBytes);
    // the same connection now runs direct, and the relay session was let go
    const info = alice.transport.pathInfo(bobId)!;
    expect(info).toMatchObject({ relayed: false, opener: true, addr: bob.node.meshNode.contact.addr });
    const stats = alice.node.services.connector!.stats().find((s) => bytesEqual(s.peerId, bobId));
    expect(stats).toMatchObject({ kind: 'HolePunched', upgrades: 1 });
    const relayText = await relay.metrics.metricsText();
    expect(relayText).toMatch(/^quicmesh_relay_frames_total\{result="forwarded"\} [1-9]/m);
    const aliceText = await alice.metrics.metricsText();
    expect(aliceText).toMatch(/^quicmesh_path_upgrades_total 1$/m);
  });
});
