/**
 * The router's topic meshes (the why is at the top of router.ts): per subscribed topic a mesh of
 * peers kept within [D_low, D_high] by Graft and Prune (with backoff and peer exchange), the
 * latency tiers that fill part of it, and fanout sets for topics we only publish to. Pure state:
 * messages leave through `send`, time and randomness come from the router.
 */
import type { Rng } from '../core/rng.js';
import { shuffle } from '../core/rng.js';
import type { Contact } from '../core/types.js';
import { MAX_CONTACTS } from '../wire/limits.js';
import type { GossipConfig } from './config.js';
import type { PeerState } from './peer.js';
import { chokeLinks, freshLink, type Link } from './push-policy.js';
import { hasTiers, nearTier } from './tiers.js';
import type { PubsubRpc } from './types.js';

export interface TopicMeshesDeps {
  config: GossipConfig;
  rng: Rng;
  /** The router's peers, by key. */
  peers: ReadonlyMap<string, PeerState>;
  localContact: () => Contact;
  send(to: Contact, msg: PubsubRpc): void;
  now(): number;
}

export class TopicMeshes {
  /** topic -> peer -> link, for the topics we subscribe to. */
  readonly meshes = new Map<string, Map<string, Link>>();
  /** topic -> peers we push to, for topics we publish to without subscribing. */
  readonly fanout = new Map<string, Set<string>>();
  private readonly fanoutLastPublish = new Map<string, number>();
  /** topic -> peer -> time before which we neither graft it nor accept its graft. */
  private readonly backoff = new Map<string, Map<string, number>>();
  private readonly config: GossipConfig;

  constructor(private readonly deps: TopicMeshesDeps) {
    this.config = deps.config;
  }

  /** Join `topic`: fanout peers first (they already carry our traffic), then others, up to D. */
  join(topic: string): void {
    const mesh = new Map<string, Link>();
    this.meshes.set(topic, mesh);
    const fan = this.fanout.get(topic);
    this.fanout.delete(topic);
    this.fanoutLastPublish.delete(topic);
    for (const key of fan ?? []) if (mesh.size < this.config.meshDegree && this.graftable(topic, key)) this.graft(topic, mesh, key);
    this.fillMesh(topic, mesh);
  }

  /** Leave `topic`: prune every mesh peer. */
  leave(topic: string): void {
    const mesh = this.meshes.get(topic);
    this.meshes.delete(topic);
    for (const key of mesh?.keys() ?? []) this.prune(topic, key);
  }

  /** Where our own message on `topic` goes first: the mesh (topped up), or the fanout set. */
  publishTargets(topic: string, now: number): Iterable<string> {
    const mesh = this.meshes.get(topic);
    if (mesh) {
      // A young mesh may be short of D: top up with other topic peers for this message.
      const set = new Set(mesh.keys());
      if (set.size < this.config.meshDegree) for (const k of this.topicPeers(topic, set)) if (set.size < this.config.meshDegree) set.add(k);
      // Latency-tiered adaptive push: the author seeds the message widely (random peers: most are
      // in other regions). Off without RTTs, like the rest of the tiered mode (see forward()).
      const want = this.config.pushMode === 'adaptive' && this.tiered(topic) ? this.config.publishPeers : 0;
      if (set.size < want) for (const k of this.topicPeers(topic, set)) if (set.size < want) set.add(k);
      return set;
    }
    let fan = this.fanout.get(topic);
    if (!fan) {
      fan = new Set(this.topicPeers(topic, new Set()).slice(0, this.config.meshDegree));
      this.fanout.set(topic, fan);
    }
    this.fanoutLastPublish.set(topic, now);
    return fan;
  }

  /** The link to `key` in the mesh of `topic`, if it is there. */
  link(topic: string, key: string): Link | undefined {
    return this.meshes.get(topic)?.get(key);
  }

  /** Forget `key` in every mesh and fanout set (gone, or graylisted). */
  drop(key: string): void {
    for (const mesh of this.meshes.values()) mesh.delete(key);
    for (const set of this.fanout.values()) set.delete(key);
  }

  /** `key` left `topic`. */
  dropFromTopic(topic: string, key: string): void {
    this.meshes.get(topic)?.delete(key);
    this.fanout.get(topic)?.delete(key);
  }

  /**
   * `peer` asks to join our mesh of `topic`: accepted, or pruned (not our topic, low score, mesh
   * full). 'backoff' when it asked while we back off from it: the caller penalises it, then prunes.
   */
  acceptGraft(peer: PeerState, topic: string): 'accepted' | 'refused' | 'backoff' {
    const mesh = this.meshes.get(topic);
    if (!mesh) return this.refuse(topic, peer.key, false);
    if (mesh.has(peer.key)) return 'accepted';
    if (this.inBackoff(topic, peer.key)) return 'backoff';
    if (peer.score < this.config.gossipThreshold) return this.refuse(topic, peer.key, false);
    if (mesh.size >= this.config.meshDegreeHigh) return this.refuse(topic, peer.key, true);
    peer.topics.add(topic);
    mesh.set(peer.key, freshLink());
    return 'accepted';
  }

  /** `key` pruned us from `topic`: leave its mesh and back off for `backoffMs`. */
  pruned(topic: string, key: string, backoffMs: number): void {
    this.meshes.get(topic)?.delete(key);
    this.setBackoff(topic, key, backoffMs);
  }

  /** Heartbeat: drop gone and low-score mesh peers, keep meshes within [D_low, D_high], expire and refill fanout. */
  maintain(now: number): void {
    const cfg = this.config;
    const peers = this.deps.peers;
    for (const [topic, mesh] of this.meshes) {
      for (const key of mesh.keys()) {
        const p = peers.get(key);
        if (!p || !p.topics.has(topic) || p.score < cfg.gossipThreshold) {
          mesh.delete(key);
          if (p && p.score >= cfg.graylistThreshold) this.prune(topic, key, false);
        }
      }
      if (mesh.size < cfg.meshDegreeLow) this.fillMesh(topic, mesh);
      else this.graftNear(topic, mesh, cfg.meshDegree);
      if (mesh.size > cfg.meshDegreeHigh) this.trimMesh(topic, mesh);
      if (cfg.pushMode === 'adaptive') chokeLinks(mesh.values(), cfg);
    }

    for (const [topic, set] of this.fanout) {
      if ((this.fanoutLastPublish.get(topic) ?? 0) + cfg.fanoutTtlMs <= now) {
        this.fanout.delete(topic);
        this.fanoutLastPublish.delete(topic);
        continue;
      }
      for (const key of set) {
        const p = peers.get(key);
        if (!p || !p.topics.has(topic) || p.score < cfg.gossipThreshold) set.delete(key);
      }
      if (set.size < cfg.meshDegree) for (const k of this.topicPeers(topic, set)) if (set.size < cfg.meshDegree) set.add(k);
    }
  }

  /** Forget backoffs that have run out. */
  expireBackoffs(now: number): void {
    for (const [topic, m] of this.backoff) {
      for (const [key, until] of m) if (until <= now) m.delete(key);
      if (m.size === 0) this.backoff.delete(topic);
    }
  }

  /** The latency-tiered mode is on for `topic`: a near quota, and RTTs known for at least that many peers. */
  tiered(topic: string): boolean {
    if (!this.config.latencyTiers || this.config.pushMode !== 'adaptive') return false;
    return hasTiers(this.deps.peers.values(), topic, Math.min(this.config.meshNearQuota, this.config.meshDegree));
  }

  /** Peers subscribed to `topic`, score >= 0, not in `exclude`, in random order. */
  topicPeers(topic: string, exclude: Set<string>): string[] {
    const out: string[] = [];
    for (const p of this.deps.peers.values()) {
      if (p.topics.has(topic) && p.score >= 0 && !exclude.has(p.key)) out.push(p.key);
    }
    return shuffle(out, this.deps.rng);
  }

  private fillMesh(topic: string, mesh: Map<string, Link>): void {
    this.graftNear(topic, mesh, this.config.meshDegree);
    const exclude = new Set(mesh.keys());
    for (const key of this.topicPeers(topic, exclude)) {
      if (mesh.size >= this.config.meshDegree) break;
      if (!this.inBackoff(topic, key)) this.graft(topic, mesh, key);
    }
  }

  /**
   * Latency tiers: the `meshNearQuota` topic peers with the lowest known RTT are this node's near
   * tier. Graft the missing ones (nearest first, mesh up to `limit`). The rest of the mesh is
   * filled at random: most random peers are in other regions, so every mesh keeps long links and
   * a message crosses regions in one hop instead of chaining many cheap regional hops.
   */
  private graftNear(topic: string, mesh: Map<string, Link>, limit: number): void {
    if (!this.config.latencyTiers) return;
    const quota = Math.min(this.config.meshNearQuota, this.config.meshDegree);
    for (const p of nearTier(this.deps.peers.values(), topic, quota)) {
      if (mesh.size >= limit) break;
      if (!mesh.has(p.key) && !this.inBackoff(topic, p.key)) this.graft(topic, mesh, p.key);
    }
  }

  /** Keep the D most useful links (random order among equals), prune the rest with px. */
  private trimMesh(topic: string, mesh: Map<string, Link>): void {
    const ranked = shuffle([...mesh], this.deps.rng).sort((a, b) => b[1].usefulness - a[1].usefulness);
    for (const [key] of ranked.slice(this.config.meshDegree)) {
      mesh.delete(key);
      this.prune(topic, key, true);
    }
  }

  private graft(topic: string, mesh: Map<string, Link>, key: string): void {
    const p = this.deps.peers.get(key);
    if (!p) return;
    mesh.set(key, freshLink());
    this.deps.send(p.contact, { type: 'Graft', from: this.deps.localContact(), topic });
  }

  private graftable(topic: string, key: string): boolean {
    const p = this.deps.peers.get(key);
    return p !== undefined && p.topics.has(topic) && p.score >= 0 && !this.inBackoff(topic, key);
  }

  private refuse(topic: string, key: string, px: boolean): 'refused' {
    this.prune(topic, key, px);
    return 'refused';
  }

  /** Tell `key` it is out of our `topic` mesh, with a backoff and (optionally) other peers to try. */
  prune(topic: string, key: string, px = true): void {
    const p = this.deps.peers.get(key);
    if (!p) return;
    this.setBackoff(topic, key, this.config.pruneBackoffMs);
    const peers: Contact[] = [];
    if (px && this.config.pxPeers > 0) {
      const exclude = new Set([key]);
      for (const k of this.topicPeers(topic, exclude).slice(0, Math.min(this.config.pxPeers, MAX_CONTACTS))) {
        peers.push(this.deps.peers.get(k)!.contact);
      }
    }
    this.deps.send(p.contact, { type: 'Prune', from: this.deps.localContact(), topic, peers, backoffMs: this.config.pruneBackoffMs });
  }

  private setBackoff(topic: string, key: string, ms: number): void {
    let m = this.backoff.get(topic);
    if (!m) this.backoff.set(topic, (m = new Map()));
    m.set(key, Math.max(m.get(key) ?? 0, this.deps.now() + ms));
  }

  private inBackoff(topic: string, key: string): boolean {
    const until = this.backoff.get(topic)?.get(key);
    return until !== undefined && until > this.deps.now();
  }
}
