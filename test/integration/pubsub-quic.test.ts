/**
 * GossipSub over real QUIC on loopback: twelve full nodes (createNode: MeshNode + DHT + pubsub on
 * QuicTransport, real clock) join through one seed; the DHT's routing tables feed the gossip peers.
 * Three topics, each node subscribed to two of them. Every node publishes on its topics; every
 * subscriber must get every message of its topics exactly once (counted by message id), nodes
 * outside a topic none of it. Waits are on the nodes' own state and message streams, each with a
 * deadline. (A message altered by a relay is dropped: covered by test/unit/pubsub-*.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../src/core/clock.js';
import { toHex } from '../../src/core/bytes.js';
import { silentLogger } from '../../src/core/logger.js';
import { CryptoRng } from '../../src/core/rng.js';
import { Keypair } from '../../src/identity/keypair.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import { createNode, type NodeAssembly } from '../../src/node/create-node.js';
import type { GossipSub } from '../../src/pubsub/gossipsub.js';
import type { ReceivedMessage } from '../../src/pubsub/message.js';
import { QuicTransport } from '../../src/transport/quic/index.js';
import { pollUntil } from '../support/poll.js';

const N = 12;
const TOPICS = ['chat/lobby', 'sensors/temp', 'news/daily'] as const;
const DEADLINE_MS = 30_000;
const utf8 = new TextEncoder();
const text = new TextDecoder();

/** Node i subscribes to every topic but TOPICS[i % 3]: each topic has 8 subscribers, 4 outsiders. */
function topicsOf(i: number): string[] {
  return TOPICS.filter((_, t) => t !== i % TOPICS.length);
}

/** Everything one node's messages() stream delivered, with waiters for expected ids. */
class Inbox {
  readonly counts = new Map<string, number>();
  readonly byTopic = new Map<string, number>();
  readonly data = new Map<string, string>();
  private waiters: Array<() => void> = [];

  constructor(gossip: GossipSub) {
    void (async () => {
      for await (const m of gossip.messages()) this.add(m);
    })();
  }

  /** Resolves once every id in `ids` arrived; rejects after `ms` naming how many are missing. */
  async waitFor(ids: readonly string[], ms: number, who: string): Promise<void> {
    const missing = (): string[] => ids.filter((id) => !this.counts.has(id));
    if (missing().length === 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`${who}: ${missing().length} of ${ids.length} messages not delivered within ${ms} ms`));
      }, ms);
      const check = (): void => {
        if (missing().length > 0) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  private add(m: ReceivedMessage): void {
    const id = toHex(m.id);
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    this.byTopic.set(m.topic, (this.byTopic.get(m.topic) ?? 0) + 1);
    this.data.set(id, text.decode(m.data));
    for (const w of [...this.waiters]) w();
  }
}

interface Peer {
  node: NodeAssembly;
  gossip: GossipSub;
  topics: string[];
  inbox: Inbox;
}

function makePeer(i: number, bootstrap: string[]): Peer {
  const keypair = Keypair.generate();
  const components = { clock: new SystemClock(), rng: new CryptoRng(), logger: silentLogger, metrics: noopMetrics };
  const transport = new QuicTransport({ keypair, host: '127.0.0.1', port: 0, components });
  const node = createNode({
    keypair,
    transport,
    components,
    bootstrap,
    dht: { maintenance: false },
    // Short periods keep the test quick; the logic is the same as with the 1 s defaults.
    pubsub: { heartbeatIntervalMs: 100, gossipIntervalMs: 200 },
    pubsubPeers: { refreshIntervalMs: 100 },
  });
  const gossip = node.services.pubsub!;
  return { node, gossip, topics: topicsOf(i), inbox: new Inbox(gossip) };
}


/** True when, for `topic`, every subscriber reaches every other along mesh links. */
function meshConnected(peers: Peer[], topic: string): boolean {
  const subs = peers.filter((p) => p.topics.includes(topic));
  const ids = new Map(subs.map((p) => [toHex(p.node.meshNode.nodeId), p]));
  for (const start of subs) {
    const seen = new Set([toHex(start.node.meshNode.nodeId)]);
    const queue = [start];
    while (queue.length > 0) {
      const p = queue.shift()!;
      for (const next of p.gossip.router.meshPeers(topic)) {
        const q = ids.get(next);
        if (q && !seen.has(next)) {
          seen.add(next);
          queue.push(q);
        }
      }
    }
    if (seen.size !== subs.length) return false;
  }
  return true;
}

describe(`GossipSub over QUIC on loopback (${N} nodes, ${TOPICS.length} topics)`, () => {
  const peers: Peer[] = [];

  beforeAll(async () => {
    const seed = makePeer(0, []);
    await seed.node.start();
    for (const t of seed.topics) seed.gossip.subscribe(t);
    await seed.node.bootstrap();
    peers.push(seed);
    const seedAddr = seed.node.meshNode.contact.addr;
    const rest = Array.from({ length: N - 1 }, (_, i) => makePeer(i + 1, [seedAddr]));
    await Promise.all(rest.map((p) => p.node.start()));
    for (const p of rest) {
      for (const t of p.topics) p.gossip.subscribe(t);
      const results = await p.node.bootstrap();
      expect(results.every((r) => r.ok)).toBe(true);
      peers.push(p);
    }
    // Meshes form over a few heartbeats: wait until every topic's mesh links all its subscribers.
    await pollUntil('connected meshes', () => TOPICS.every((t) => meshConnected(peers, t)), { timeoutMs: DEADLINE_MS, intervalMs: 50 });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.node.stop()));
  });

  it('feeds every node gossip peers from its routing table and reports meshes in /status', () => {
    for (const p of peers) {
      const status = p.node.meshNode.status().extra.pubsub as {
        peers: number;
        fedPeers: number;
        topics: string[];
        mesh: Record<string, number>;
      };
      expect(status.peers).toBeGreaterThan(0);
      expect(status.peers).toBeLessThanOrEqual(30);
      expect(status.topics.sort()).toEqual([...p.topics].sort());
      for (const t of p.topics) expect(status.mesh[t]).toBeGreaterThan(0);
    }
    expect(peers.reduce((n, p) => n + (p.node.meshNode.status().extra.pubsub as { fedPeers: number }).fedPeers, 0)).toBeGreaterThan(0);
  });

  it('delivers every message to every subscriber of its topic exactly once, and to no one else', async () => {
    const published = new Map<string, { topic: string; source: number; body: string }>();
    const publishRound = async (round: number): Promise<string[]> => {
      const ids: string[] = [];
      for (const [i, p] of peers.entries()) {
        for (const t of p.topics) {
          const body = `round ${round} from node ${i} on ${t}`;
          const id = toHex(await p.gossip.publish(t, utf8.encode(body)));
          published.set(id, { topic: t, source: i, body });
          ids.push(id);
        }
      }
      return ids;
    };
    const awaitRound = (ids: string[]): Promise<void[]> =>
      Promise.all(
        peers.map((p, i) => {
          const mine = ids.filter((id) => {
            const m = published.get(id)!;
            return p.topics.includes(m.topic) && m.source !== i;
          });
          return p.inbox.waitFor(mine, DEADLINE_MS, `node ${i}`);
        }),
      );

    const first = await publishRound(1);
    expect(first).toHaveLength(N * 2);
    await awaitRound(first);
    // A second round, delivered after the first: late duplicates of round 1 would have arrived by now.
    const second = await publishRound(2);
    await awaitRound(second);

    for (const [i, p] of peers.entries()) {
      const expected = [...published].filter(([, m]) => p.topics.includes(m.topic) && m.source !== i);
      expect(expected).toHaveLength(2 * 2 * 7); // 2 rounds x 2 topics x 7 other subscribers
      expect([...p.inbox.counts.keys()].sort()).toEqual(expected.map(([id]) => id).sort());
      for (const [id, m] of expected) {
        expect(p.inbox.counts.get(id), `node ${i} copies of ${m.body}`).toBe(1);
        expect(p.inbox.data.get(id)).toBe(m.body);
      }
      const outside = TOPICS.find((t) => !p.topics.includes(t))!;
      expect(p.inbox.byTopic.get(outside) ?? 0).toBe(0);
    }
  }, 90_000);
});
