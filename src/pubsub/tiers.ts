/**
 * Latency tiers of the mesh (the why is at the top of router.ts): a node's near tier for a topic
 * is the `quota` topic peers with the lowest known RTT. RTTs come from the transport
 * (GossipRouter.observeRtt) and are refined by our own IHave/IWant round trips.
 */
import type { PeerState } from './peer.js';

/** The near tier of `topic`: up to `quota` topic peers with score >= 0, nearest first. */
export function nearTier(peers: Iterable<PeerState>, topic: string, quota: number): PeerState[] {
  if (quota <= 0) return [];
  const known: PeerState[] = [];
  for (const p of peers) if (p.rttMs !== undefined && p.topics.has(topic) && p.score >= 0) known.push(p);
  return known.sort((a, b) => a.rttMs! - b.rttMs!).slice(0, quota);
}

/** The tiered mode is on for `topic`: a quota, and RTTs known for at least that many topic peers. */
export function hasTiers(peers: Iterable<PeerState>, topic: string, quota: number): boolean {
  if (quota <= 0) return false;
  let known = 0;
  for (const p of peers) if (p.rttMs !== undefined && p.topics.has(topic) && ++known >= quota) return true;
  return false;
}
