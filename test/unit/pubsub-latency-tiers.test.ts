import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { ConfigError } from '../../src/errors.js';
import { resolveGossipConfig } from '../../src/pubsub/config.js';
import { PubsubError } from '../../src/pubsub/errors.js';
import { messageId, signMessage } from '../../src/pubsub/message.js';
import { Harness, keypairFor, type HarnessNode } from './pubsub-harness.js';

const T = 'chat/tiers';
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (n: HarnessNode): string => toHex(n.keypair.nodeId);

/** Every node learns an RTT to every peer (as its transport would tell it): the tiered mode engages. */
function knowRtts(h: Harness): void {
  for (const a of h.nodes) for (const b of h.nodes) if (a !== b) a.router.observeRtt(b.keypair.nodeId, 20 + Math.abs(a.index - b.index));
}

/** Node 0 is told RTTs to everyone: node j is at 100 - 4j ms, so 19, 18, 17... are its nearest. */
function tieredMesh(config: Parameters<typeof resolveGossipConfig>[0], hints: boolean): string[] {
  const h = new Harness(20, config, 3);
  h.connectAll();
  const a = h.nodes[0]!;
  if (hints) for (const n of h.nodes.slice(1)) a.router.observeRtt(n.keypair.nodeId, 100 - 4 * n.index);
  h.subscribeAll(T);
  h.startHeartbeats();
  h.run(3_000);
  return a.router.meshPeers(T);
}

describe('GossipRouter latency-tiered mesh', () => {
  it('grafts the meshNearQuota lowest-RTT peers, the rest at random', () => {
    const h = new Harness(20);
    const mesh = tieredMesh({ latencyTiers: true, meshNearQuota: 3 }, true);
    const near = [19, 18, 17].map((i) => toHex(keypairFor(3 * 1000 + i).nodeId));
    for (const k of near) expect(mesh).toContain(k);
    expect(mesh.length).toBeGreaterThanOrEqual(h.nodes[0]!.router.config.meshDegree);
  });

  it('with latencyTiers off (the default) or meshNearQuota 0, RTT knowledge changes nothing', () => {
    const without = tieredMesh({}, false);
    expect(tieredMesh({}, true)).toEqual(without);
    expect(tieredMesh({ latencyTiers: true, meshNearQuota: 0 }, true)).toEqual(without);
  });

  it('observeRtt smooths samples and rejects bad values with a typed error', () => {
    const h = new Harness(2);
    h.connectAll();
    const [a, b] = h.nodes as [HarnessNode, HarnessNode];
    expect(a.router.peerRtt(b.keypair.nodeId)).toBeUndefined();
    a.router.observeRtt(b.keypair.nodeId, 80);
    expect(a.router.peerRtt(b.keypair.nodeId)).toBe(80);
    a.router.observeRtt(b.keypair.nodeId, 160);
    expect(a.router.peerRtt(b.keypair.nodeId)).toBe(90);
    expect(() => a.router.observeRtt(b.keypair.nodeId, -1)).toThrow(PubsubError);
    expect(() => a.router.observeRtt(b.keypair.nodeId, Number.NaN)).toThrow(/rttMs/);
    // Unknown peers are ignored.
    a.router.observeRtt(keypairFor(77).nodeId, 10);
    expect(a.router.peerRtt(keypairFor(77).nodeId)).toBeUndefined();
  });

  it('refines the RTT of a peer from an IWant answered by its Publish', () => {
    const h = new Harness(2); // 10 ms each way
    h.connectAll();
    h.subscribeAll(T);
    h.run(50);
    const [r, p] = h.nodes as [HarnessNode, HarnessNode];
    // p publishes; its push to r is lost, so r only hears of the message by p's IHave.
    h.drop = (from, to, msg) => from === 1 && to === 0 && msg.type === 'Publish' && h.clock.now() < 100;
    r.router.observeRtt(p.keypair.nodeId, 100); // the transport's estimate, refined below
    const id = p.router.publish(T, bytes('probe'));
    h.run(60);
    r.router.onRpc(p.contact, { type: 'IHave', from: p.contact, topic: T, ids: [id] });
    h.run(100);
    expect(r.delivered).toHaveLength(1);
    expect(r.router.peerRtt(p.keypair.nodeId)).toBe(100 + (20 - 100) / 8);
  });

  it('validates meshNearQuota and publishPeers', () => {
    expect(() => resolveGossipConfig({ meshNearQuota: -1 })).toThrow(ConfigError);
    expect(() => resolveGossipConfig({ publishPeers: 1.5 })).toThrow(/publishPeers/);
    expect(() => resolveGossipConfig({ firstHopEager: 'yes' as unknown as boolean })).toThrow(/firstHopEager/);
    expect(() => resolveGossipConfig({ latencyTiers: 1 as unknown as boolean })).toThrow(/latencyTiers/);
  });
});

describe('GossipRouter hop-limited eager phase', () => {
  /** A 12-node mesh where every link is choked (lazy) after one heartbeat. */
  function chokedMesh(firstHopEager: boolean): Harness {
    const h = new Harness(12, { latencyTiers: true, chokeThreshold: 1, eagerMin: 0, publishPeers: 0, firstHopPeers: 0, firstHopEager }, 5);
    h.connectAll();
    knowRtts(h);
    h.subscribeAll(T);
    h.startHeartbeats();
    h.run(3_000);
    for (const n of h.nodes) expect(n.router.eagerPeers(T)).toHaveLength(0);
    return h;
  }

  it('one hop from the author a node pushes full copies to its whole mesh; further hops stay lazy', () => {
    const h = chokedMesh(true);
    const author = h.nodes[0]!;
    const relay = h.nodes.find((n) => author.router.meshPeers(T).includes(hex(n)))!;
    const mark = relay.effects.length;
    // The relay gets the message from its author, and passes it on to another node.
    const gm = signMessage(author.keypair, T, 1n, bytes('first hop'));
    relay.router.onRpc(author.contact, { type: 'Publish', from: author.contact, message: gm });
    const pushed = relay.effects.slice(mark).filter((e) => e.kind === 'send' && e.msg.type === 'Publish');
    const others = relay.router.meshPeers(T).filter((k) => k !== hex(author));
    expect(pushed.map((e) => (e.kind === 'send' ? toHex(e.to.id) : '')).sort()).toEqual(others.sort());
    // A second-hop node (got it from the relay, not the author) only announces it.
    const second = h.nodes.find((n) => n !== author && n !== relay && relay.router.meshPeers(T).includes(hex(n)))!;
    const mark2 = second.effects.length;
    second.router.onRpc(relay.contact, { type: 'Publish', from: relay.contact, message: gm });
    const sent2 = second.effects.slice(mark2).filter((e) => e.kind === 'send');
    expect(sent2.some((e) => e.kind === 'send' && e.msg.type === 'Publish')).toBe(false);
    expect(sent2.some((e) => e.kind === 'send' && e.msg.type === 'IHave')).toBe(true);
  });

  it('the first-hop phase tops the push up to firstHopPeers with random topic peers', () => {
    const h = new Harness(16, { latencyTiers: true, chokeThreshold: 1, eagerMin: 0, publishPeers: 0, firstHopPeers: 12 }, 5);
    h.connectAll();
    knowRtts(h);
    h.subscribeAll(T);
    h.startHeartbeats();
    h.run(3_000);
    const author = h.nodes[0]!;
    const relay = h.nodes.find((n) => author.router.meshPeers(T).includes(hex(n)))!;
    const mark = relay.effects.length;
    const gm = signMessage(author.keypair, T, 1n, bytes('wide'));
    relay.router.onRpc(author.contact, { type: 'Publish', from: author.contact, message: gm });
    const pushed = relay.effects.slice(mark).filter((e) => e.kind === 'send' && e.msg.type === 'Publish');
    expect(pushed.length).toBe(Math.max(12, relay.router.meshPeers(T).length) - 1);
  });

  it('without firstHopEager the first hop follows the choked links (lazy)', () => {
    const h = chokedMesh(false);
    const author = h.nodes[0]!;
    const relay = h.nodes.find((n) => author.router.meshPeers(T).includes(hex(n)))!;
    const mark = relay.effects.length;
    const gm = signMessage(author.keypair, T, 1n, bytes('first hop'));
    relay.router.onRpc(author.contact, { type: 'Publish', from: author.contact, message: gm });
    expect(relay.effects.slice(mark).some((e) => e.kind === 'send' && e.msg.type === 'Publish')).toBe(false);
    expect(relay.effects.slice(mark).some((e) => e.kind === 'send' && e.msg.type === 'IHave')).toBe(true);
    expect(relay.router.hasSeen(messageId(gm.source, gm.seqno))).toBe(true);
  });

  it('the author seeds at least publishPeers topic peers (tiered adaptive); otherwise it pushes to its mesh only', () => {
    for (const [pushMode, rtts] of [['adaptive', true], ['adaptive', false], ['eager', true]] as const) {
      const h = new Harness(20, { latencyTiers: true, pushMode, publishPeers: 15 }, 9);
      h.connectAll();
      if (rtts) knowRtts(h);
      h.subscribeAll(T);
      h.startHeartbeats();
      h.run(3_000);
      const a = h.nodes[0]!;
      const mesh = a.router.meshPeers(T).length;
      const mark = a.effects.length;
      a.router.publish(T, bytes('seed'));
      const pushes = a.effects.slice(mark).filter((e) => e.kind === 'send' && e.msg.type === 'Publish').length;
      expect(pushes).toBe(pushMode === 'adaptive' && rtts ? Math.max(15, mesh) : mesh);
      h.run(1_000);
      for (const n of h.nodes.slice(1)) expect(n.delivered).toHaveLength(1);
    }
  });
});
