/**
 * Periodic IHave gossip: which peers hear about which cached message ids. Per topic we have a
 * mesh or fanout for, the ids of the last `historyGossip` windows go to max(D_lazy,
 * gossipFactor x eligible) random peers of the topic outside the mesh/fanout whose score is at
 * least gossipThreshold. With `skipKnown`, ids a peer is known to have are left out (and a peer
 * with nothing left gets no IHave).
 */
import type { Rng } from '../core/rng.js';
import { shuffle } from '../core/rng.js';
import { MAX_IDS } from '../wire/limits.js';
import type { MessageCache } from './caches.js';
import type { GossipConfig } from './config.js';
import type { MessageId } from './message.js';
import type { PeerState } from './peer.js';

export interface GossipPlanEntry {
  to: PeerState;
  topic: string;
  ids: MessageId[];
}

export function planGossip(
  topics: Iterable<string>,
  /** Peers of the topic that get full messages (mesh or fanout): no gossip for them. */
  pushedTo: (topic: string) => ReadonlySet<string>,
  peers: ReadonlyMap<string, PeerState>,
  mcache: MessageCache,
  cfg: Pick<GossipConfig, 'historyGossip' | 'lazyDegree' | 'gossipFactor' | 'gossipThreshold'>,
  rng: Rng,
  skipKnown: boolean,
): GossipPlanEntry[] {
  const plan: GossipPlanEntry[] = [];
  for (const topic of topics) {
    const ids = mcache.gossipIds(topic, cfg.historyGossip);
    if (ids.length === 0) continue;
    const exclude = pushedTo(topic);
    const candidates: PeerState[] = [];
    for (const p of peers.values()) {
      if (p.topics.has(topic) && !exclude.has(p.key) && p.score >= cfg.gossipThreshold) candidates.push(p);
    }
    const n = Math.max(cfg.lazyDegree, Math.round(cfg.gossipFactor * candidates.length));
    const shared = ids.slice(0, MAX_IDS);
    for (const p of shuffle(candidates, rng).slice(0, n)) {
      if (!skipKnown) {
        plan.push({ to: p, topic, ids: shared });
        continue;
      }
      const own = mcache.gossipIds(topic, cfg.historyGossip, (e) => e.haves.has(p.key));
      if (own.length > 0) plan.push({ to: p, topic, ids: own.slice(0, MAX_IDS) });
    }
  }
  return plan;
}
