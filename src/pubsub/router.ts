/**
 * The GossipSub router: a pure state machine (no I/O; time, randomness, logs and metrics come
 * from Components). Inputs: addPeer, removePeer, onRpc, subscribe, unsubscribe, publish,
 * heartbeat, poll. Outputs: GossipEffects pushed to the injected sink (send, deliver, penalise,
 * wake). GossipSub v1.1 structure: per-topic meshes kept within [D_low, D_high] by Graft/Prune
 * (with backoff and peer exchange), fanout for topics we only publish to, a seen-cache for
 * deduplication, a message cache in history windows for IHave gossip and IWant repair, signed
 * messages verified before anything is relayed, and a peer score with rate limits.
 *
 * Forwarding choice (pushMode 'adaptive', the default), measured with src/sim/gossip
 * (bench/gossip-sim.ts; N=1000, D=6, 1 KB, regions latency, same seed for every column):
 *   plain eager push and plain GossipSub deliver ~6.3 full copies per delivery: in a mesh where
 *   every link pushes, each non-tree link carries the message twice (both ends forward before
 *   hearing from the other). We keep the D-peer mesh (robustness, gossip reach) but push full
 *   copies only on links that earn it, and send an immediate one-id IHave (lazy push) on the rest:
 *   - never push to a peer known to have the message (it sent or announced it: IDONTWANT-like);
 *   - a push is judged by its echo: if the peer later sends or announces the same message, it
 *     had it already and our copy was a duplicate; otherwise our copy was its first. A lazy
 *     announcement is judged by whether the peer answered it with IWant (it still lacked the
 *     message: we were its fastest path). Each mesh link keeps a moving average of that usefulness;
 *   - a heartbeat chokes (makes lazy) eager links whose usefulness fell below chokeThreshold,
 *     keeping the eagerMin most useful ones eager; a lazy link whose IWant rate lifts its
 *     usefulness to unchokeThreshold is unchoked.
 *   The receiver side needs no new wire message: choking is inferred by the sender from echoes
 *   and IWants, so routers in 'eager' mode (plain GossipSub) interoperate unchanged.
 *
 * Latency-tiered mode (config latencyTiers, off by default; acts once RTTs are known: the transport reports each connection's RTT via
 * observeRtt; our IHave->IWant and IWant->Publish round trips refine it). Why: first copies
 * follow the fastest paths, and under regions latency (5-20 ms RTT inside a region, 65-250 ms
 * between) the fastest path chains many cheap regional hops (plain eager push: max 16 hops,
 * adaptive 21, against the 2 log2(N)/log2(D) + 2 = 9.7 goal). Three rules, no wire change:
 *   - tiered mesh: meshNearQuota (3) mesh slots go to the lowest-RTT topic peers, the rest stay
 *     random (mostly long links to other regions), so regional subgraphs are dense (short
 *     regional chains) and every mesh keeps cross-region links;
 *   - wide seed: the author pushes to publishPeers (30) topic peers, i.e. into every region;
 *   - hop-limited eager phase: a node that got the message straight from its author (the one hop
 *     count a relay can know without a hop field on the wire) pushes full copies to its whole
 *     mesh, topped up to firstHopPeers (12) random topic peers. About 300 nodes in all regions
 *     hold the message after two hops; adaptive push takes it from there.
 *   Cost: about 300 extra full copies per message (seed and first-hop pushes), plus denser
 *   regional meshes: 2.31 -> 2.99 copies per delivery at N=1000. The fixed per-message cost
 *   pays only in large topics (N=300: 3.5 copies per delivery), hence opt-in; and the mode
 *   waits for RTTs from the transport.
 * Measured (bench/gossip-sim.ts, N=1000, D=6, 1 KB, seed 1; plain eager push on the same run):
 *   regions clean: 100% delivery, 2.99 copies/delivery, hops p50/p95/max 3/5/9 (flood 5/8/16),
 *   p95 latency 141 ms vs 161 (0.88x); uniform clean: 2.83 copies, hops max 6, p95 268 vs 265
 *   ms (1.01x). 5% loss + 10% crashed: 100% delivery; regions 2.81 copies, p95 0.81x, max hops
 *   11 (5 of 179,800 deliveries above 9.7; flood 18); uniform 2.90 copies, p95 0.99x, max 7.
 * Without the tiered mode (no RTTs) adaptive push gives 2.31 copies, p95 1.14x, max hops 21
 * (regions) and 2.95 copies, p95 1.44x (uniform).
 * Alternatives measured (N=1000, regions, clean): tiered mesh alone, quota 4: 3.04 copies, max
 * 14 hops; wide seed + first-hop phase without tiers: 2.32 copies, max 17; tiers 3 + seed without
 * the first-hop phase: 2.94 copies, max 12; tiers 2 + seed + first-hop phase: 2.83, max 11;
 * eagerMin 3 instead: 3.55 copies. Earlier (N=300): plain GossipSub with D=3 (2.5 copies, p95
 * 2.1x); asking for lazily announced messages after a 50 ms wait (1.8 copies, p95 1.38x).
 * Known limit: copies/delivery sits just under 3 (2.99) under regions latency; the margin is thin.
 */
import type { Components } from '../core/components.js';
import type { Contact } from '../core/types.js';
import type { Keypair } from '../identity/keypair.js';
import { nodeIdFromPublicKey } from '../identity/node-id.js';
import { MAX_CONTACTS, MAX_IDS } from '../wire/limits.js';
import type { GossipMessage, IHave, Publish } from '../wire/messages.js';
import { MessageCache, SeenCache, type CachedMessage } from './caches.js';
import { planGossip } from './gossip.js';
import { resolveGossipConfig, type GossipConfig } from './config.js';
import { PubsubError } from './errors.js';
import {
  messageId,
  messageIdKey,
  messageIdOf,
  checkTopic,
  messageProblem,
  validIds,
  signMessage,
  topicProblem,
  verifyMessage,
  type MessageId,
  type MessageVerifier,
} from './message.js';
import { GossipMetrics } from './metrics.js';
import { PeerState, penaltyDelta } from './peer.js';
import { recordIWant, recordOutcome } from './push-policy.js';
import { TopicMeshes } from './topic-meshes.js';
import type { EffectSink, PenaltyReason, PubsubRpc } from './types.js';
import { WantTracker } from './wants.js';

/** What a GossipRouter is built from: keypair, our contact, components, configuration and its effect sink. */
export interface GossipRouterOptions {
  /** Signs our messages; its identity is the `source` of everything we publish. */
  keypair: Keypair;
  /** Our contact, put in every message's `from` (a function: a node's address is known after start). */
  localContact: () => Contact;
  components: Components;
  config?: Partial<GossipConfig>;
  onEffect: EffectSink;
  /** Signature check (default: Ed25519 over the canonical bytes). */
  verifier?: MessageVerifier;
}


/** The sans-IO GossipSub router: meshes, fanout, graft/prune, IHave/IWant, scoring; effects out, no I/O. */
export class GossipRouter {
  readonly config: GossipConfig;
  private readonly c: Components;
  private readonly keypair: Keypair;
  private readonly localContact: () => Contact;
  private readonly emit: EffectSink;
  private readonly verify: MessageVerifier;
  private readonly m: GossipMetrics;
  private readonly selfKey: string;

  private readonly peers = new Map<string, PeerState>();
  private readonly subscriptions = new Set<string>();
  private readonly topicMeshes: TopicMeshes;
  private readonly seen: SeenCache;
  private readonly mcache: MessageCache;
  private readonly wants: WantTracker;
  /** Author public key (hex) -> its node id key: is a relay the author itself? (bounded memo) */
  private readonly authorIds = new Map<string, string>();
  private seqno: bigint;
  private heartbeats = 0;
  private wakeAt: number | undefined;

  constructor(opts: GossipRouterOptions) {
    this.config = resolveGossipConfig(opts.config);
    this.c = opts.components;
    this.keypair = opts.keypair;
    this.localContact = opts.localContact;
    this.emit = opts.onEffect;
    this.verify = opts.verifier ?? verifyMessage;
    this.m = new GossipMetrics(opts.components.metrics);
    this.selfKey = messageIdKey(opts.keypair.nodeId);
    const cfg = this.config;
    this.seen = new SeenCache(cfg.messageCacheSize, cfg.messageCacheTtlMs);
    this.mcache = new MessageCache(cfg.messageCacheSize, cfg.historyLength);
    this.wants = new WantTracker(cfg.iwantFollowupMs, MAX_IDS);
    this.topicMeshes = new TopicMeshes({
      config: cfg,
      rng: this.c.rng,
      peers: this.peers,
      localContact: this.localContact,
      send: (to, msg) => this.send(to, msg),
      now: () => this.now(),
    });
    // Start from the clock so a restarted node does not reuse seqnos (and so message ids).
    this.seqno = BigInt(Math.max(0, Math.floor(this.c.clock.now()))) * 1000n;
  }

  // --- inputs: peers --------------------------------------------------------------------------

  /** A peer we can talk to (e.g. from the DHT). Tells it our subscriptions. False when full or self. */
  addPeer(contact: Contact): boolean {
    const key = messageIdKey(contact.id);
    if (key === this.selfKey) return false;
    if (this.peers.has(key)) return true;
    if (this.peers.size >= this.config.maxPeers) return false;
    const cfg = this.config;
    this.peers.set(key, new PeerState(key, contact, this.now(), cfg.maxRpcPerSecond, cfg.maxPublishPerSecond));
    for (const topic of this.subscriptions) this.send(contact, { type: 'Subscribe', from: this.localContact(), topic });
    return true;
  }

  /** The peer is gone (connection lost, node stopped): forget it everywhere. */
  removePeer(contact: Contact | Uint8Array): void {
    const key = messageIdKey(contact instanceof Uint8Array ? contact : contact.id);
    if (!this.peers.delete(key)) return;
    this.topicMeshes.drop(key);
    this.wants.dropPeer(key);
  }

  /**
   * A round-trip time measured to the peer, ms (e.g. the transport's smoothed RTT of its
   * connection). Feeds the latency-tiered mesh (meshNearQuota). Unknown peers are ignored.
   */
  observeRtt(id: Uint8Array, rttMs: number): void {
    if (!(Number.isFinite(rttMs) && rttMs >= 0)) throw new PubsubError('InvalidRtt', `rttMs must be a finite number >= 0, got ${rttMs}`);
    this.peers.get(messageIdKey(id))?.observeRtt(rttMs);
  }

  // --- inputs: application --------------------------------------------------------------------

  subscribe(topic: string): void {
    checkTopic(topic);
    if (this.subscriptions.has(topic)) return;
    this.subscriptions.add(topic);
    for (const p of this.peers.values()) this.send(p.contact, { type: 'Subscribe', from: this.localContact(), topic });
    this.topicMeshes.join(topic);
  }

  unsubscribe(topic: string): void {
    checkTopic(topic);
    if (!this.subscriptions.delete(topic)) return;
    this.topicMeshes.leave(topic);
    for (const p of this.peers.values()) this.send(p.contact, { type: 'Unsubscribe', from: this.localContact(), topic });
  }

  get topics(): string[] {
    return [...this.subscriptions];
  }

  /** Author, sign and send a message; returns its id. Throws PubsubError on a bad topic or size. */
  publish(topic: string, data: Uint8Array): MessageId {
    checkTopic(topic);
    if (!(data instanceof Uint8Array)) throw new PubsubError('InvalidData', 'data must be a Uint8Array');
    if (data.length > this.config.maxMessageSize) {
      throw new PubsubError('MessageTooLarge', `data is ${data.length} bytes, more than maxMessageSize ${this.config.maxMessageSize}`);
    }
    const now = this.now();
    const gm = signMessage(this.keypair, topic, this.seqno++, data);
    const id = messageId(gm.source, gm.seqno);
    const key = messageIdKey(id);
    this.seen.add(key, now);
    const entry = this.mcache.put(key, id, gm);
    this.m.published.inc();

    const targets = this.topicMeshes.publishTargets(topic, now);
    const rpc: Publish = { type: 'Publish', from: this.localContact(), message: gm };
    for (const k of targets) this.pushFull(entry, k, rpc);
    return id;
  }

  // --- inputs: network ------------------------------------------------------------------------

  /** One message from `from` (whose id the transport authenticated). */
  onRpc(from: Contact, rpc: PubsubRpc): void {
    const key = messageIdKey(from.id);
    if (key === this.selfKey) return;
    let peer = this.peers.get(key);
    if (!peer) {
      // An authenticated peer we did not know: adopt it (it learns our subscriptions).
      if (!this.addPeer(from)) return;
      peer = this.peers.get(key)!;
    }
    if (peer.score < this.config.graylistThreshold) return;
    if (!peer.rpc.take(this.now())) return this.penalise(peer, 'rate_exceeded');
    switch (rpc?.type) {
      case 'Subscribe': return this.onSubscribe(peer, rpc.topic);
      case 'Unsubscribe': return this.onUnsubscribe(peer, rpc.topic);
      case 'Graft': return this.onGraft(peer, rpc.topic);
      case 'Prune': return this.onPrune(peer, rpc.topic, rpc.peers, rpc.backoffMs);
      case 'Publish': return this.onPublish(peer, rpc.message);
      case 'IHave': return this.onIHave(peer, rpc.topic, rpc.ids);
      case 'IWant': return this.onIWant(peer, rpc.ids);
      default: return this.penalise(peer, 'malformed');
    }
  }

  private onSubscribe(peer: PeerState, topic: string): void {
    if (topicProblem(topic)) return this.penalise(peer, 'malformed');
    if (!peer.topics.has(topic) && peer.topics.size >= this.config.maxTopicsPerPeer) return this.penalise(peer, 'malformed');
    peer.topics.add(topic);
  }

  private onUnsubscribe(peer: PeerState, topic: string): void {
    if (topicProblem(topic)) return this.penalise(peer, 'malformed');
    peer.topics.delete(topic);
    this.topicMeshes.dropFromTopic(topic, peer.key);
  }

  private onGraft(peer: PeerState, topic: string): void {
    if (topicProblem(topic)) return this.penalise(peer, 'malformed');
    if (this.topicMeshes.acceptGraft(peer, topic) === 'backoff') {
      this.penalise(peer, 'backoff_violation');
      this.topicMeshes.prune(topic, peer.key, false);
    }
  }

  private onPrune(peer: PeerState, topic: string, px: Contact[], backoffMs: number): void {
    if (topicProblem(topic) || !Array.isArray(px) || px.length > MAX_CONTACTS || !(backoffMs >= 0)) {
      return this.penalise(peer, 'malformed');
    }
    // Honour the peer's backoff, within reason: a huge value must not lock us out forever.
    this.topicMeshes.pruned(topic, peer.key, Math.min(backoffMs, 10 * this.config.pruneBackoffMs));
    if (peer.score < 0) return;
    for (const c of px.slice(0, this.config.pxPeers)) {
      if (c && c.id instanceof Uint8Array && c.id.length === 32 && typeof c.addr === 'string') this.addPeer(c);
    }
  }

  private onPublish(peer: PeerState, gm: GossipMessage): void {
    if (messageProblem(gm, this.config.maxMessageSize)) return this.penalise(peer, 'malformed');
    const now = this.now();
    if (!peer.publish.take(now)) return this.penalise(peer, 'rate_exceeded');
    const id = messageIdOf(gm);
    const key = messageIdKey(id);
    if (this.seen.has(key)) {
      this.m.duplicates.inc();
      const entry = this.mcache.get(key);
      if (entry) this.noteHas(entry, peer.key);
      return;
    }
    // Topics we do not subscribe to are not our traffic (a late relay after our unsubscribe).
    if (!this.subscriptions.has(gm.topic)) return;
    // Verify before marking seen: a forgery must not shadow the genuine message's id.
    if (!this.verify(gm)) return this.penalise(peer, 'invalid_signature');
    this.seen.add(key, now);
    const askedAt = peer.asked.get(key);
    if (askedAt !== undefined) peer.refineRtt(now - askedAt);
    this.wants.resolve(key);
    const entry = this.mcache.put(key, id, gm);
    entry.haves.add(peer.key);
    this.m.delivered.inc();
    this.emit({
      kind: 'deliver',
      message: { topic: gm.topic, source: gm.source, seqno: gm.seqno, data: gm.data, id },
      from: peer.contact,
    });
    this.forward(entry, peer.key, this.isAuthor(gm, peer.key));
  }

  /** True when `key` is the node that authored `gm` (then we are one hop from the source). */
  private isAuthor(gm: GossipMessage, key: string): boolean {
    const src = messageIdKey(gm.source);
    let id = this.authorIds.get(src);
    if (id === undefined) {
      if (this.authorIds.size >= 4096) this.authorIds.delete(this.authorIds.keys().next().value as string);
      id = messageIdKey(nodeIdFromPublicKey(gm.source));
      this.authorIds.set(src, id);
    }
    return id === key;
  }

  private onIHave(peer: PeerState, topic: string, ids: Uint8Array[]): void {
    if (topicProblem(topic) || !validIds(ids)) return this.penalise(peer, 'malformed');
    this.m.ihaveReceived.inc();
    if (peer.score < this.config.gossipThreshold) return;
    peer.ihaveIds += ids.length;
    if (peer.ihaveIds > this.config.maxIHaveIdsPerHeartbeat) return this.penalise(peer, 'rate_exceeded');
    const subscribed = this.subscriptions.has(topic);
    const now = this.now();
    const askNow: Uint8Array[] = [];
    for (const id of ids) {
      const key = messageIdKey(id);
      if (this.seen.has(key)) {
        const entry = this.mcache.get(key);
        if (entry) this.noteHas(entry, peer.key);
        continue;
      }
      if (!subscribed) continue;
      if (!this.wants.announce(key, id, peer.key, now + this.config.lazyWaitMs)) continue;
      if (this.config.lazyWaitMs === 0) {
        this.wants.askedFirst(key, now);
        askNow.push(id);
      }
    }
    if (askNow.length > 0) this.sendIWant(peer.contact, askNow);
    const due = this.wants.nextDue();
    if (due !== undefined) this.scheduleWake(due);
  }

  private onIWant(peer: PeerState, ids: Uint8Array[]): void {
    if (!validIds(ids)) return this.penalise(peer, 'malformed');
    this.m.iwantReceived.inc();
    peer.iwantIds += ids.length;
    if (peer.iwantIds > this.config.maxIWantIdsPerHeartbeat) return this.penalise(peer, 'rate_exceeded');
    let rpc: Publish | undefined;
    for (const id of ids) {
      const entry = this.mcache.get(messageIdKey(id));
      if (!entry) continue;
      const served = (entry.served ??= new Map());
      const n = served.get(peer.key) ?? 0;
      if (n >= this.config.gossipRetransmission) continue;
      served.set(peer.key, n + 1);
      entry.haves.add(peer.key);
      // It still lacked the message when our announcement arrived: we were its fastest path.
      if (entry.announced?.delete(peer.key)) {
        if (entry.announcedAt !== undefined) peer.refineRtt(this.now() - entry.announcedAt);
        const link = this.topicMeshes.link(entry.msg.topic, peer.key);
        if (link) recordIWant(link, this.config);
      }
      rpc = { type: 'Publish', from: this.localContact(), message: entry.msg };
      this.send(peer.contact, rpc);
    }
  }

  // --- forwarding -----------------------------------------------------------------------------

  /** Relay a newly received message over the topic mesh (see the module comment). */
  private forward(entry: CachedMessage, fromKey: string, fromAuthor: boolean): void {
    const mesh = this.topicMeshes.meshes.get(entry.msg.topic);
    if (!mesh) return;
    const adaptive = this.config.pushMode === 'adaptive';
    // Hop-limited eager phase: one hop from the author we push to the whole mesh (the author's
    // wide seeding then reaches every region within two hops; see the module comment).
    // It belongs to the latency-tiered mode (RTTs known): without latency structure to race
    // through, paths are short anyway and the extra copies would be pure cost (small topics).
    const allEager = fromAuthor && this.config.firstHopEager && this.topicMeshes.tiered(entry.msg.topic);
    let full: Publish | undefined;
    let lazy: IHave | undefined;
    for (const [key, link] of mesh) {
      if (key === fromKey || (adaptive && entry.haves.has(key))) continue;
      const peer = this.peers.get(key);
      if (!peer) continue;
      if (!adaptive || link.eager || allEager) {
        full ??= { type: 'Publish', from: this.localContact(), message: entry.msg };
        this.pushFull(entry, key, full);
      } else {
        lazy ??= { type: 'IHave', from: this.localContact(), topic: entry.msg.topic, ids: [entry.id] };
        (entry.announced ??= new Set()).add(key);
        entry.announcedAt = this.now();
        this.m.ihaveSent.inc();
        this.send(peer.contact, lazy);
      }
    }
    // ... and tops it up with random topic peers to firstHopPeers (a wider second hop).
    if (allEager && mesh.size < this.config.firstHopPeers) {
      const skip = new Set([...mesh.keys(), fromKey, ...entry.haves]);
      let n = mesh.size;
      for (const key of this.topicMeshes.topicPeers(entry.msg.topic, skip)) {
        if (n++ >= this.config.firstHopPeers) break;
        full ??= { type: 'Publish', from: this.localContact(), message: entry.msg };
        this.pushFull(entry, key, full);
      }
    }
  }

  private pushFull(entry: CachedMessage, key: string, rpc: Publish): void {
    const peer = this.peers.get(key);
    if (!peer) return;
    if (this.config.pushMode === 'adaptive') (entry.pushed ??= new Set()).add(key);
    this.send(peer.contact, rpc);
  }

  /** `key` has the message (it sent or announced it): never push it; judge our earlier push. */
  private noteHas(entry: CachedMessage, key: string): void {
    entry.haves.add(key);
    if (entry.pushed?.delete(key)) {
      const link = this.topicMeshes.link(entry.msg.topic, key);
      if (link) recordOutcome(link, false, this.config.usefulnessAlpha);
    }
  }

  // --- timers ---------------------------------------------------------------------------------

  /** Run due IWant work: ask announcers, follow up on broken promises. */
  poll(now = this.now()): void {
    if (this.wakeAt !== undefined && this.wakeAt <= now) this.wakeAt = undefined;
    const byPeer = new Map<string, Uint8Array[]>();
    for (const a of this.wants.due(now)) {
      if (a.broken) {
        const p = this.peers.get(a.broken);
        if (p) this.penalise(p, 'broken_promise');
      }
      if (a.ask && this.peers.has(a.ask)) {
        let list = byPeer.get(a.ask);
        if (!list) byPeer.set(a.ask, (list = []));
        list.push(a.id);
      }
    }
    for (const [key, ids] of byPeer) this.sendIWant(this.peers.get(key)!.contact, ids);
    const next = this.wants.nextDue();
    if (next !== undefined) this.scheduleWake(next);
  }

  /** Mesh maintenance, fanout expiry, IHave gossip, cache shifting, score decay. */
  heartbeat(now = this.now()): void {
    this.heartbeats++;
    const cfg = this.config;
    for (const p of this.peers.values()) p.tick(cfg.scoreDecay);
    if (cfg.pushMode === 'adaptive') this.judgePushes();
    this.topicMeshes.maintain(now);

    const every = Math.max(1, Math.round(cfg.gossipIntervalMs / cfg.heartbeatIntervalMs));
    if (cfg.gossipEnabled && this.heartbeats % every === 0) this.emitGossip();
    this.mcache.shift();
    this.seen.prune(now);
    this.topicMeshes.expireBackoffs(now);
    this.m.reportMeshSizes(this.topicMeshes.meshes);
  }

  // --- push judgement -------------------------------------------------------------------------

  /**
   * Judge the forwards made a heartbeat ago: a push that drew no echo was the peer's first copy
   * (useful); an announcement that drew no IWant was not needed (the peer had a faster feed).
   */
  private judgePushes(): void {
    const alpha = this.config.usefulnessAlpha;
    for (const entry of this.mcache.window(1)) {
      const mesh = this.topicMeshes.meshes.get(entry.msg.topic);
      for (const key of entry.pushed ?? []) {
        const link = mesh?.get(key);
        if (link) recordOutcome(link, true, alpha);
      }
      for (const key of entry.announced ?? []) {
        const link = mesh?.get(key);
        if (link) recordOutcome(link, false, alpha);
      }
      entry.pushed = null;
      entry.announced = null;
    }
  }

  // --- gossip ---------------------------------------------------------------------------------

  private emitGossip(): void {
    const { meshes, fanout } = this.topicMeshes;
    const pushedTo = (topic: string): Set<string> => new Set([...(meshes.get(topic)?.keys() ?? []), ...(fanout.get(topic) ?? [])]);
    const topics = new Set([...meshes.keys(), ...fanout.keys()]);
    const adaptive = this.config.pushMode === 'adaptive';
    // Plain GossipSub sends one shared IHave per topic; adaptive mode tailors it per peer.
    const shared = new Map<MessageId[], IHave>();
    for (const { to, topic, ids } of planGossip(topics, pushedTo, this.peers, this.mcache, this.config, this.c.rng, adaptive)) {
      let rpc = shared.get(ids);
      if (!rpc) shared.set(ids, (rpc = { type: 'IHave', from: this.localContact(), topic, ids }));
      this.m.ihaveSent.inc();
      this.send(to.contact, rpc);
    }
  }

  private sendIWant(to: Contact, ids: Uint8Array[]): void {
    const peer = this.peers.get(messageIdKey(to.id));
    if (peer) peer.noteAsked(ids.map(messageIdKey), this.now());
    this.m.iwantSent.inc();
    this.send(to, { type: 'IWant', from: this.localContact(), ids });
  }

  // --- plumbing -------------------------------------------------------------------------------

  private penalise(peer: PeerState, reason: PenaltyReason): void {
    const delta = penaltyDelta(reason, this.config.penalties);
    const wasGray = peer.score < this.config.graylistThreshold;
    peer.score += delta;
    const graylisted = peer.score < this.config.graylistThreshold;
    this.m.penalised.inc({ reason });
    if (graylisted && !wasGray) {
      this.topicMeshes.drop(peer.key);
      this.c.logger.debug('peer graylisted', { peer: peer.key.slice(0, 8), reason, score: peer.score });
    }
    this.emit({ kind: 'penalise', peer: peer.contact, reason, score: peer.score, graylisted });
  }

  private scheduleWake(at: number): void {
    if (this.wakeAt !== undefined && this.wakeAt <= at) return;
    this.wakeAt = at;
    this.emit({ kind: 'wake', at });
  }

  private send(to: Contact, msg: PubsubRpc): void {
    this.emit({ kind: 'send', to, msg });
  }

  private now(): number {
    return this.c.clock.now();
  }

  // --- introspection (tests, status, simulator) -----------------------------------------------

  /** Mesh peers of `topic` (hex NodeIds). */
  meshPeers(topic: string): string[] {
    return [...(this.topicMeshes.meshes.get(topic)?.keys() ?? [])];
  }

  /** Mesh peers of `topic` we currently push full copies to. */
  eagerPeers(topic: string): string[] {
    return [...(this.topicMeshes.meshes.get(topic) ?? [])].filter(([, l]) => l.eager).map(([k]) => k);
  }

  fanoutPeers(topic: string): string[] {
    return [...(this.topicMeshes.fanout.get(topic) ?? [])];
  }

  peerScore(id: Uint8Array): number | undefined {
    return this.peers.get(messageIdKey(id))?.score;
  }

  /** Smoothed RTT to the peer in ms, when known. */
  peerRtt(id: Uint8Array): number | undefined {
    return this.peers.get(messageIdKey(id))?.rttMs;
  }

  hasSeen(id: MessageId): boolean {
    return this.seen.has(messageIdKey(id));
  }

  get peerCount(): number {
    return this.peers.size;
  }

  status(): { peers: number; topics: string[]; mesh: Record<string, number>; fanout: Record<string, number>; cached: number; seen: number } {
    return {
      peers: this.peers.size,
      topics: this.topics,
      mesh: Object.fromEntries([...this.topicMeshes.meshes].map(([t, m]) => [t, m.size])),
      fanout: Object.fromEntries([...this.topicMeshes.fanout].map(([t, s]) => [t, s.size])),
      cached: this.mcache.size,
      seen: this.seen.size,
    };
  }
}
