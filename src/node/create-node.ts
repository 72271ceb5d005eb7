/**
 * The composition root for a running node: a MeshNode on a transport, plus the services that
 * attach to it — today the DHT (routing, storage, tiering, endpoint records). The node joins the
 * network by pinging its bootstrap peers (so each answer is logged with the peer's NodeId), then
 * running the DHT's join (self-lookup, bucket refresh) through those that answered, and finally
 * publishing its own signed endpoint record.
 *
 * Pubsub (GossipSub, on unless `pubsub: false`) runs on the same MeshNode; its candidate peers are
 * the DHT's routing-table contacts, fed by PubsubPeerFeed (bounded, refreshed on the clock and
 * right after each join). Subscribing before start() is fine: peers learn of it as they are added.
 */
import type { Components } from '../core/components.js';
import { fromHex } from '../core/bytes.js';
import type { Contact } from '../core/types.js';
import { DhtNode, type DhtNodeOptions } from '../dht/index.js';
import type { Keypair } from '../identity/keypair.js';
import type { Transport } from '../transport/transport.js';
import { pingBootstrapPeers, type BootstrapResult } from './bootstrap.js';
import { MeshNode } from './mesh-node.js';
import { exportDhtTelemetry } from './dht-telemetry.js';
import { PubsubPeerFeed, type PubsubPeerFeedOptions } from './pubsub-peers.js';
import { GossipSub } from '../pubsub/gossipsub.js';
import type { GossipConfig } from '../pubsub/config.js';

export interface CreateNodeOptions {
  keypair: Keypair;
  transport: Transport;
  components: Components;
  /** "host:port" of peers to join through. */
  bootstrap?: readonly string[];
  dht?: DhtNodeOptions;
  /** Publish our endpoint record after joining (default true). */
  publishRecord?: boolean;
  /** GossipSub router settings, or false for a node without pubsub (default: on, default config). */
  pubsub?: false | Partial<GossipConfig>;
  /** How the DHT feeds pubsub peers (bound, refresh period). */
  pubsubPeers?: PubsubPeerFeedOptions;
}

export interface NodeServices {
  dht: DhtNode;
  /** Absent when created with `pubsub: false`. */
  pubsub?: GossipSub;
}

export interface NodeAssembly {
  meshNode: MeshNode;
  services: NodeServices;
  /** Start the transport, then the services. */
  start(): Promise<void>;
  /** Join the network through the configured bootstrap peers; one result per configured address. */
  bootstrap(opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<BootstrapResult[]>;
  /** Stop services, then the transport. Idempotent. */
  stop(): Promise<void>;
}

export function createNode(opts: CreateNodeOptions): NodeAssembly {
  const meshNode = new MeshNode({ keypair: opts.keypair, transport: opts.transport, components: opts.components });
  const dht = new DhtNode({ rpc: meshNode, components: opts.components, options: opts.dht });
  const services: NodeServices = { dht };
  const bootstrapAddrs = [...(opts.bootstrap ?? [])];
  meshNode.addStatusProvider('dht', () => dht.telemetrySnapshot());
  let feed: PubsubPeerFeed | undefined;
  if (opts.pubsub !== false) {
    const pubsub = new GossipSub({
      endpoint: meshNode,
      keypair: opts.keypair,
      components: opts.components,
      config: opts.pubsub,
    });
    services.pubsub = pubsub;
    const router = pubsub.router;
    const peerFeed = new PubsubPeerFeed(
      dht.table,
      {
        addPeer: (c) => pubsub.addPeer(c),
        removePeer: (c) => pubsub.removePeer(c),
        hasPeer: (id) => router.peerScore(id) !== undefined,
        get peerCount() {
          return router.peerCount;
        },
      },
      opts.components,
      opts.pubsubPeers,
    );
    feed = peerFeed;
    // Replaces the driver's own 'pubsub' section with one that adds the feed's numbers.
    meshNode.addStatusProvider('pubsub', () => ({
      ...router.status(),
      fedPeers: peerFeed.size,
      droppedDeliveries: pubsub.droppedDeliveries,
    }));
  }

  let stopTelemetry: (() => void) | undefined;

  return {
    meshNode,
    services,
    async start() {
      await meshNode.start();
      dht.attach();
      feed?.start();
      stopTelemetry = exportDhtTelemetry(dht, opts.components.metrics, opts.components.clock);
    },
    async bootstrap(bopts = {}) {
      const results = await pingBootstrapPeers(meshNode, bootstrapAddrs, bopts);
      const seeds: Contact[] = results
        .filter((r) => r.ok && r.nodeId !== undefined)
        .map((r) => ({ id: fromHex(r.nodeId!), addr: r.addr }));
      if (seeds.length > 0 || bootstrapAddrs.length === 0) {
        await dht.bootstrap(seeds);
      }
      const own = opts.transport.localAddr;
      // A wildcard listen address means nothing to peers; the record is published once a concrete one is known.
      const publishable = !/^(0\.0\.0\.0|\[::\]):/.test(own);
      if (opts.publishRecord !== false && publishable && (seeds.length > 0 || bootstrapAddrs.length === 0)) {
        try {
          await dht.publishAddress(opts.keypair, [own]);
        } catch (err) {
          opts.components.logger.warn('could not publish endpoint record', { error: String(err) });
        }
      }
      // The join filled the routing table: hand its contacts to pubsub now, not at the next tick.
      feed?.refresh();
      return results;
    },
    async stop() {
      stopTelemetry?.();
      feed?.stop();
      services.pubsub?.stop();
      dht.stop();
      await meshNode.stop();
    },
  };
}
