import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { ConfigError } from '../../src/errors.js';
import { resolveGossipConfig } from '../../src/pubsub/config.js';
import { PubsubError } from '../../src/pubsub/errors.js';
import { memoizedVerifier, messageId, signMessage, verifyMessage } from '../../src/pubsub/message.js';
import type { Publish } from '../../src/wire/messages.js';
import { Harness, contactFor, keypairFor } from './pubsub-harness.js';

const T = 'chat/lobby';
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('GossipRouter mesh maintenance', () => {
  it('forms symmetric meshes within [D_low, D_high] and delivers to everyone', () => {
    const h = new Harness(20);
    h.connectAll();
    h.subscribeAll(T);
    h.startHeartbeats();
    h.run(5_000);
    const cfg = h.nodes[0]!.router.config;
    for (const n of h.nodes) {
      const mesh = n.router.meshPeers(T);
      expect(mesh.length).toBeGreaterThanOrEqual(cfg.meshDegreeLow);
      expect(mesh.length).toBeLessThanOrEqual(cfg.meshDegreeHigh);
      for (const key of mesh) {
        const peer = h.nodes.find((m) => toHex(m.keypair.nodeId) === key)!;
        expect(peer.router.meshPeers(T)).toContain(toHex(n.keypair.nodeId));
      }
    }
    h.nodes[3]!.router.publish(T, bytes('hello'));
    h.run(1_000);
    for (const n of h.nodes) {
      if (n.index === 3) continue;
      expect(n.delivered.map((m) => new TextDecoder().decode(m.data))).toEqual(['hello']);
    }
  });

  it('grafts back up to D when peers leave and the mesh falls below D_low', () => {
    const h = new Harness(16);
    h.connectAll();
    h.subscribeAll(T);
    h.startHeartbeats();
    h.run(3_000);
    const a = h.nodes[0]!;
    const mesh = a.router.meshPeers(T);
    const cfg = a.router.config;
    // Drop mesh peers until below D_low.
    for (const key of mesh.slice(0, mesh.length - cfg.meshDegreeLow + 1)) {
      const peer = h.nodes.find((m) => toHex(m.keypair.nodeId) === key)!;
      a.router.removePeer(peer.contact);
    }
    expect(a.router.meshPeers(T).length).toBeLessThan(cfg.meshDegreeLow);
    h.run(1_100);
    expect(a.router.meshPeers(T).length).toBeGreaterThanOrEqual(cfg.meshDegree);
  });

  it('refuses grafts beyond D_high with a Prune carrying peer exchange and a backoff, and penalises a graft in backoff', () => {
    const h = new Harness(16, { meshDegree: 3, meshDegreeLow: 2, meshDegreeHigh: 4 });
    h.connectAll();
    h.subscribeAll(T);
    h.run(100); // subscriptions exchanged, no heartbeat yet: meshes empty
    const a = h.nodes[0]!;
    for (const n of h.nodes.slice(1)) a.router.onRpc(n.contact, { type: 'Graft', from: n.contact, topic: T });
    expect(a.router.meshPeers(T)).toHaveLength(4);
    const prunes = h.sent(a, 'Prune');
    expect(prunes).toHaveLength(11);
    for (const p of prunes) {
      if (p.type !== 'Prune') continue;
      expect(p.backoffMs).toBe(a.router.config.pruneBackoffMs);
      expect(p.peers.length).toBeGreaterThan(0);
    }
    // A pruned peer grafting again inside its backoff is penalised and pruned again.
    const late = h.nodes[15]!;
    a.router.onRpc(late.contact, { type: 'Graft', from: late.contact, topic: T });
    expect(a.router.meshPeers(T)).not.toContain(toHex(late.keypair.nodeId));
    expect(a.router.peerScore(late.keypair.nodeId)).toBeLessThan(0);
  });

  it('a pruned node does not re-graft the pruning peer during the backoff', () => {
    const h = new Harness(2);
    h.connectAll();
    h.subscribeAll(T);
    h.run(50);
    const [a, b] = h.nodes as [typeof h.nodes[0], typeof h.nodes[0]];
    // Each side prunes the other (as after a mesh trim on both ends), asking for 5 s of backoff.
    a.router.onRpc(b.contact, { type: 'Prune', from: b.contact, topic: T, peers: [], backoffMs: 5_000 });
    b.router.onRpc(a.contact, { type: 'Prune', from: a.contact, topic: T, peers: [], backoffMs: 5_000 });
    h.startHeartbeats();
    h.run(3_000);
    expect(a.router.meshPeers(T)).not.toContain(toHex(b.keypair.nodeId));
    h.run(3_000);
    expect(a.router.meshPeers(T)).toContain(toHex(b.keypair.nodeId));
  });
});

describe('GossipRouter fanout', () => {
  it('publishes to D subscribed peers without subscribing, and drops the fanout after fanoutTtl', () => {
    const h = new Harness(12, { fanoutTtlMs: 5_000 });
    h.connectAll();
    for (const n of h.nodes.slice(1)) n.router.subscribe(T);
    h.startHeartbeats();
    h.run(3_000);
    const pub = h.nodes[0]!;
    pub.router.publish(T, bytes('from outside'));
    expect(pub.router.fanoutPeers(T)).toHaveLength(pub.router.config.meshDegree);
    expect(pub.router.meshPeers(T)).toHaveLength(0);
    h.run(1_000);
    for (const n of h.nodes.slice(1)) expect(n.delivered).toHaveLength(1);
    h.run(3_000);
    expect(pub.router.fanoutPeers(T)).toHaveLength(pub.router.config.meshDegree);
    h.run(3_000);
    expect(pub.router.fanoutPeers(T)).toHaveLength(0);
  });
});

describe('GossipRouter IHave/IWant repair', () => {
  it('asks an announcer for a missed message, follows up with the next one, penalises the broken promise', () => {
    const h = new Harness(3, { iwantFollowupMs: 200 });
    h.connectAll();
    h.subscribeAll(T);
    h.run(50);
    const [r, p, q] = h.nodes as [typeof h.nodes[0], typeof h.nodes[0], typeof h.nodes[0]];
    const author = keypairFor(99);
    const gm = signMessage(author, T, 7n, bytes('missed'));
    const id = messageId(gm.source, gm.seqno);
    // p and q announce a message they do not actually serve (their IWant handling is bypassed).
    h.drop = (_from, to, msg) => msg.type === 'IWant' && to !== 0;
    r.router.onRpc(p.contact, { type: 'IHave', from: p.contact, topic: T, ids: [id] });
    r.router.onRpc(q.contact, { type: 'IHave', from: q.contact, topic: T, ids: [id] });
    const wants = h.sent(r, 'IWant');
    expect(wants).toHaveLength(1);
    expect(r.effects.find((e) => e.kind === 'send' && e.msg.type === 'IWant')).toMatchObject({ to: p.contact });
    h.run(250);
    const wants2 = r.effects.filter((e) => e.kind === 'send' && e.msg.type === 'IWant');
    expect(wants2).toHaveLength(2);
    expect(wants2[1]).toMatchObject({ to: q.contact });
    expect(r.router.peerScore(p.keypair.nodeId)).toBeLessThan(0);
    // q delivers: the message reaches the application once.
    r.router.onRpc(q.contact, { type: 'Publish', from: q.contact, message: gm });
    expect(r.delivered).toHaveLength(1);
    expect(r.delivered[0]!.id).toEqual(id);
  });

  it('answers IWant from its message cache', () => {
    const h = new Harness(2);
    h.connectAll();
    h.subscribeAll(T);
    h.run(50);
    const [a, b] = h.nodes as [typeof h.nodes[0], typeof h.nodes[0]];
    const id = a.router.publish(T, bytes('cached'));
    a.effects.length = 0;
    a.router.onRpc(b.contact, { type: 'IWant', from: b.contact, ids: [id, new Uint8Array([1, 2, 3])] });
    const sent = h.sent(a, 'Publish') as Publish[];
    expect(sent).toHaveLength(1);
    expect(messageId(sent[0]!.message.source, sent[0]!.message.seqno)).toEqual(id);
  });

  it('repairs lost pushes through gossip: every message reaches every node under 30% loss', () => {
    const h = new Harness(12, {}, 3);
    h.connectAll();
    h.subscribeAll(T);
    h.startHeartbeats();
    h.run(3_000);
    let n = 0;
    h.drop = () => (n = (n * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 < 0.3;
    for (let i = 0; i < 10; i++) {
      h.nodes[i % 12]!.router.publish(T, bytes(`m${i}`));
      h.run(100);
    }
    h.run(10_000);
    for (const node of h.nodes) {
      const own = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].filter((i) => i % 12 === node.index).length;
      expect(node.delivered).toHaveLength(10 - own);
    }
  });
});

describe('GossipRouter deduplication and signatures', () => {
  function pair(): { h: Harness; r: Harness['nodes'][0]; p: Harness['nodes'][0]; q: Harness['nodes'][0] } {
    const h = new Harness(3);
    h.connectAll();
    h.subscribeAll(T);
    h.run(50);
    return { h, r: h.nodes[0]!, p: h.nodes[1]!, q: h.nodes[2]! };
  }

  it('delivers a message once however many copies arrive', () => {
    const { r, p, q } = pair();
    const gm = signMessage(keypairFor(50), T, 1n, bytes('x'));
    r.router.onRpc(p.contact, { type: 'Publish', from: p.contact, message: gm });
    r.router.onRpc(q.contact, { type: 'Publish', from: q.contact, message: gm });
    r.router.onRpc(p.contact, { type: 'Publish', from: p.contact, message: { ...gm } });
    expect(r.delivered).toHaveLength(1);
    expect(r.metrics.get('quicmesh_gossip_duplicates_total')).toBe(2);
    expect(r.metrics.get('quicmesh_gossip_messages_delivered_total')).toBe(1);
  });

  it('drops an altered or forged message, penalises the relay, and still accepts the genuine one', () => {
    const { r, p, q } = pair();
    const author = keypairFor(51);
    const gm = signMessage(author, T, 1n, bytes('genuine'));
    expect(verifyMessage(gm)).toBe(true);
    const altered = { ...gm, data: bytes('tampered') };
    r.router.onRpc(p.contact, { type: 'Publish', from: p.contact, message: altered });
    // Claims the author as source but is signed by the relay.
    const forged = { ...signMessage(p.keypair, T, 2n, bytes('forged')), source: author.identity };
    r.router.onRpc(p.contact, { type: 'Publish', from: p.contact, message: forged });
    expect(r.delivered).toHaveLength(0);
    const penalties = r.effects.filter((e) => e.kind === 'penalise');
    expect(penalties).toHaveLength(2);
    expect(penalties[0]).toMatchObject({ reason: 'invalid_signature', peer: p.contact });
    expect(r.router.peerScore(p.keypair.nodeId)).toBeLessThan(0);
    // The forgery did not poison the seen-cache: the real message still gets through.
    r.router.onRpc(q.contact, { type: 'Publish', from: q.contact, message: gm });
    expect(r.delivered.map((m) => new TextDecoder().decode(m.data))).toEqual(['genuine']);
    expect(r.router.peerScore(q.keypair.nodeId)).toBe(0);
  });

  it('penalises malformed input (bad signature length, oversized ids)', () => {
    const { r, p } = pair();
    const gm = signMessage(keypairFor(52), T, 1n, bytes('x'));
    r.router.onRpc(p.contact, { type: 'Publish', from: p.contact, message: { ...gm, signature: new Uint8Array(10) } });
    r.router.onRpc(p.contact, { type: 'IHave', from: p.contact, topic: T, ids: [new Uint8Array(65)] });
    r.router.onRpc(p.contact, { type: 'Subscribe', from: p.contact, topic: 'x'.repeat(257) });
    const reasons = r.effects.filter((e) => e.kind === 'penalise').map((e) => e.kind === 'penalise' && e.reason);
    expect(reasons).toEqual(['malformed', 'malformed', 'malformed']);
    expect(r.delivered).toHaveLength(0);
  });
});

describe('GossipRouter flood protection', () => {
  it('graylists a flooding peer while honest peers keep delivering', () => {
    const h = new Harness(3, { maxPublishPerSecond: 20 });
    h.connectAll();
    h.subscribeAll(T);
    h.startHeartbeats();
    h.run(2_000);
    const [r, flooder, honest] = h.nodes as [typeof h.nodes[0], typeof h.nodes[0], typeof h.nodes[0]];
    let honestSent = 0;
    for (let t = 0; t < 10; t++) {
      // 30 valid messages per 100 ms from the flooder's own key: 15x its allowed rate.
      for (let k = 0; k < 30; k++) {
        const gm = signMessageCached(flooder.keypair, t * 30 + k);
        r.router.onRpc(flooder.contact, { type: 'Publish', from: flooder.contact, message: gm });
      }
      honest.router.publish(T, bytes(`honest ${t}`));
      honestSent++;
      h.run(100);
    }
    const fromHonest = r.delivered.filter((m) => toHex(m.source) === toHex(honest.keypair.identity));
    expect(fromHonest).toHaveLength(honestSent);
    const fromFlooder = r.delivered.filter((m) => toHex(m.source) === toHex(flooder.keypair.identity));
    expect(fromFlooder.length).toBeLessThan(60);
    const graylisted = r.effects.find((e) => e.kind === 'penalise' && e.graylisted);
    expect(graylisted).toMatchObject({ peer: flooder.contact, reason: 'rate_exceeded' });
    expect(r.router.meshPeers(T)).not.toContain(toHex(flooder.keypair.nodeId));
    expect(r.router.peerScore(honest.keypair.nodeId)).toBe(0);
    expect(r.metrics.get('quicmesh_gossip_peers_penalised_total', { reason: 'rate_exceeded' })).toBeGreaterThan(0);
  });
});

// Signing is the slow part of the flood test: sign each (seqno) once per process.
const signed = new Map<number, ReturnType<typeof signMessage>>();
function signMessageCached(kp: ReturnType<typeof keypairFor>, seq: number): ReturnType<typeof signMessage> {
  let gm = signed.get(seq);
  if (!gm) signed.set(seq, (gm = signMessage(kp, T, BigInt(seq), bytes(`flood ${seq}`))));
  return gm;
}

describe('GossipRouter adaptive push', () => {
  it('chokes redundant mesh links yet delivers everything', () => {
    const h = new Harness(24, {}, 5, memoizedVerifier());
    h.connectAll();
    h.subscribeAll(T);
    h.startHeartbeats();
    h.run(3_000);
    let copies = 0;
    let deliveries = 0;
    for (let i = 0; i < 60; i++) {
      h.nodes[i % 24]!.router.publish(T, bytes(`m${i}`));
      h.run(100);
    }
    h.run(3_000);
    for (const n of h.nodes) {
      deliveries += n.delivered.length;
      copies += n.metrics.get('quicmesh_gossip_duplicates_total') + n.delivered.length;
    }
    expect(deliveries).toBe(60 * 23);
    let eager = 0;
    let mesh = 0;
    for (const n of h.nodes) {
      eager += n.router.eagerPeers(T).length;
      mesh += n.router.meshPeers(T).length;
    }
    expect(eager).toBeLessThan(mesh);
    expect(copies / deliveries).toBeLessThan(4);
  });
});

describe('GossipRouter inputs and config', () => {
  it('rejects bad topics and oversized data with a typed error', () => {
    const h = new Harness(1, { maxMessageSize: 100 });
    const r = h.nodes[0]!.router;
    expect(() => r.publish('', bytes('x'))).toThrow(PubsubError);
    expect(() => r.subscribe('t'.repeat(257))).toThrow(/InvalidTopic/);
    expect(() => r.publish(T, new Uint8Array(101))).toThrow(/MessageTooLarge/);
  });

  it('validates the config and names the field', () => {
    expect(() => resolveGossipConfig({ meshDegreeLow: 7 })).toThrow(ConfigError);
    expect(() => resolveGossipConfig({ meshDegree: 0 })).toThrow(/meshDegree/);
    expect(() => resolveGossipConfig({ chokeThreshold: 2 })).toThrow(/chokeThreshold/);
    expect(resolveGossipConfig().messageCacheSize).toBe(10_000);
  });

  it('exports mesh size per topic, capping topic labels at 50', () => {
    const h = new Harness(2);
    h.connectAll();
    const a = h.nodes[0]!;
    for (let i = 0; i < 52; i++) a.router.subscribe(`topic-${i}`);
    a.router.heartbeat();
    expect(a.metrics.values.has('quicmesh_gossip_mesh_peers{"topic":"topic-0"}')).toBe(true);
    expect(a.metrics.values.has('quicmesh_gossip_mesh_peers{"topic":"topic-51"}')).toBe(false);
    expect(a.metrics.values.has('quicmesh_gossip_mesh_peers{"topic":"_other"}')).toBe(true);
  });

  it('ignores itself as a peer and counts its own publications', () => {
    const h = new Harness(1);
    const a = h.nodes[0]!;
    expect(a.router.addPeer(contactFor(a.keypair, 0))).toBe(false);
    a.router.subscribe(T);
    a.router.publish(T, bytes('alone'));
    expect(a.metrics.get('quicmesh_gossip_messages_published_total')).toBe(1);
  });
});
