/**
 * The composition root for a running node: a MeshNode on a transport, plus the services that
 * attach to it — today the DHT (routing, storage, tiering, endpoint records). The node joins the
 * network by pinging its bootstrap peers (so each answer is logged with the peer's NodeId), then
 * running the DHT's join (self-lookup, bucket refresh) through those that answered, and finally
 * publishing its own signed endpoint record.
 *
 * NAT traversal: a node created with `relay` runs a RelayService (serves relay sessions); a node
 * given `relays` keeps a RelayLink to them so peers can reach it through a relay, and probePeer
 * falls back to it. After joining, the node asks a bootstrap peer for its reflexive address
 * (WhatIsMyAddr); status().extra.nat reports it with the relay links.
 *
 * Pubsub (GossipSub, on unless `pubsub: false`) runs on the same MeshNode; its candidate peers are
 * the DHT's routing-table contacts, fed by PubsubPeerFeed (bounded, refreshed on the clock and
 * right after each join). Subscribing before start() is fine: peers learn of it as they are added.
 */
import type { Components } from '../core/components.js';
import { fromHex, toHex } from '../core/bytes.js';
import type { Contact } from '../core/types.js';
import { DhtNode, type DhtNodeOptions } from '../dht/index.js';
import type { Keypair } from '../identity/keypair.js';
import { MAX_RELAY_INFO_ADDRS } from '../nat/relay/relay-info.js';
import type { Transport } from '../transport/transport.js';
import { pingBootstrapPeers, type BootstrapResult } from './bootstrap.js';
import { RejoinKeeper } from './rejoin.js';
import { MeshNode } from './mesh-node.js';
import { exportDhtTelemetry } from './dht-telemetry.js';
import { PubsubPeerFeed, type PubsubPeerFeedOptions } from './pubsub-peers.js';
import { GossipSub } from '../pubsub/gossipsub.js';
import type { GossipConfig } from '../pubsub/config.js';
import { attachTraversal } from '../traversal/probe.js';
import { ConnectionManager } from '../connection/connection-manager.js';
import { RelayClient } from '../nat/relay/relay-client.js';
import { capability } from '../transport/capabilities.js';
import { behindNat, SmartConnector, type ConnectOutcome, type SmartConnectorOptions } from '../traversal/smart-connector.js';
import { nodeIdOfRecord, verifyEndpointRecord, type EndpointRecord } from '../identity/endpoint-record.js';
import { IdentityError, TransportError, errorText } from '../errors.js';
import { NodeAddresses, type NatAddresses } from '../traversal/node-addresses.js';
import { RelayInfoPublisher } from '../traversal/relay-info-publisher.js';
import { RelayRanking } from '../traversal/relay-ranking.js';
import { answerStreamChecks } from './stream-check.js';
import { RelayLink } from '../traversal/relay-link.js';
import { RelayService, type RelayServiceOptions } from '../traversal/relay-service.js';
import { RendezvousService } from '../traversal/rendezvous-service.js';
import { PunchDriver } from '../traversal/punch-driver.js';

/** What createNode builds a node from: keypair, transport, components, bootstrap peers, and which services to run how. */
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
  /** Serve relay sessions for other nodes (the lab's role: relay). */
  relay?: boolean | RelayServiceOptions;
  /** "host:port" of relays to stay reachable through (and to connect through when a dial fails). */
  relays?: readonly string[];
  /** Punch holes (rendezvous through the relays) before falling back to a relay session; default true. */
  holePunch?: boolean;
  /** With a wildcard listener: advertise this interface's IPv4 address (else the one toward our peers). */
  advertiseInterface?: string;
  /** Answer stream checks (src/node/stream-check.ts) on the transport's raw streams (default false). */
  answerStreamChecks?: boolean;
  /** Smart connections (QUIC): timing of the parallel dial / punch / relay race; see SmartConnector. */
  connect?: SmartConnectOptions;
}

/** Timing of smart connections; the defaults suit paths from LAN to intercontinental. */
export interface SmartConnectOptions extends SmartConnectorOptions {
  /** Head start of the plain dials before a hole punch starts, ms. Default 10. */
  punchDelayMs?: number;
  /** The same toward a peer whose record shows no NAT (its plain dial should answer), ms. Default 100. */
  publicPunchDelayMs?: number;
  /** Time the dials and the punch get before a relay is tried beside them, ms. Default 500. */
  relayDelayMs?: number;
  /** The same for a peer whose record shows no NAT (a plain dial should answer), ms. Default 2 000. */
  publicRelayDelayMs?: number;
  /** ms for a relay to set up a session and the connection over it. Default 5 000. */
  relayTimeoutMs?: number;
  /** ms between attempts to upgrade a relayed connection to direct. Default 15 000. */
  upgradeIntervalMs?: number;
}

/** status().extra.nat */
export interface NatStatus extends NatAddresses {
  relays: ReturnType<RelayLink['status']>;
  /** True when this node serves relay sessions. */
  relayServer: boolean;
}

/** The services of a node made by createNode (`node.services`); which are present depends on the options and transport. */
export interface NodeServices {
  dht: DhtNode;
  /** Absent when created with `pubsub: false`. */
  pubsub?: GossipSub;
  /** Present when created with `relay`. */
  relayService?: RelayService;
  /** Present when created with `relays`. */
  relayLink?: RelayLink;
  /** Present on relays: coordinates hole punches. */
  rendezvous?: RendezvousService;
  /** Present on relays: publishes this relay's signed RelayInfo (load, capabilities) in the DHT. */
  relayInfo?: RelayInfoPublisher;
  /** Feeds the connector's relay ranking from the DHT's relay directory and measured RTTs. */
  relayRanking?: RelayRanking;
  /** Smart connections (direct / hole-punched / relayed, upgrades) and the quicmesh_path_* metrics. */
  connector?: SmartConnector;
  /** Present with `relays` on a transport with raw datagrams (QUIC), unless holePunch is false. */
  punch?: PunchDriver;
}

/** A node made by createNode: its MeshNode and services, with start, bootstrap, smartConnect and stop. */
export interface NodeAssembly {
  meshNode: MeshNode;
  services: NodeServices;
  /** Start the transport, then the services. */
  start(): Promise<void>;
  /** Join the network through the configured bootstrap peers; one result per configured address. */
  bootstrap(opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<BootstrapResult[]>;
  /**
   * Connect to the author of `record` (spec: smart_connect): its direct addresses and, in parallel,
   * a hole punch and a relay (see SmartConnector). Resolves with the connection — Direct (plain or
   * hole-punched) or Relayed — once one is verified; requests to the peer's NodeId then use it.
   */
  smartConnect(record: EndpointRecord, opts?: SmartConnectCallOptions): Promise<ConnectOutcome>;
  /** Stop services, then the transport. Idempotent. */
  stop(): Promise<void>;
}

export type SmartConnectCallOptions = Parameters<SmartConnector['connect']>[1];

/** Assemble a node: a MeshNode on the transport with the DHT, pubsub and NAT traversal services the options ask for. */
export function createNode(opts: CreateNodeOptions): NodeAssembly {
  const meshNode = new MeshNode({ keypair: opts.keypair, transport: opts.transport, components: opts.components });
  const dht = new DhtNode({ rpc: meshNode, components: opts.components, options: opts.dht });
  const services: NodeServices = { dht };
  const bootstrapAddrs = [...(opts.bootstrap ?? [])];
  meshNode.addStatusProvider('dht', () => dht.telemetrySnapshot());
  if (opts.relay) {
    services.relayService = new RelayService(meshNode, opts.relay === true ? {} : opts.relay);
    const svc = services.relayService;
    meshNode.addStatusProvider('relay', () => svc.status());
    services.rendezvous = new RendezvousService(meshNode);
  }
  if (opts.relays !== undefined && opts.relays.length > 0) {
    const link = new RelayLink(meshNode, { relays: opts.relays });
    services.relayLink = link;
    const raw = capability(opts.transport, 'rawDatagrams');
    if (opts.holePunch !== false && raw !== undefined) {
      services.punch = new PunchDriver(meshNode, {
        raw,
        isRendezvous: (id) => link.isRelayPeer(id),
        // ICE candidates: our address (host) and our NAT's mapping as a bootstrap peer saw it
        localCandidates: () => ({ host: meshNode.contact.addr, reflexive: addresses.nat.reflexiveAddr }),
      });
    }
  }
  const addresses = new NodeAddresses({
    meshNode,
    dht,
    keypair: opts.keypair,
    components: opts.components,
    relayLink: services.relayLink,
    connector: () => services.connector,
    publishRecord: opts.publishRecord,
    ...(opts.advertiseInterface !== undefined ? { advertiseInterface: opts.advertiseInterface } : {}),
  });
  const ownAddrs = (): string[] => addresses.ownAddrs();
  const relayServer = opts.relay !== undefined && opts.relay !== false;
  const transport = opts.transport;
  const streams = capability(transport, 'streams');
  if (opts.answerStreamChecks && streams !== undefined) answerStreamChecks(streams, opts.components.clock);
  const relaySvc = services.relayService;
  if (relaySvc !== undefined) {
    const publisher = new RelayInfoPublisher({
      dht,
      keypair: opts.keypair,
      components: opts.components,
      info: () => ({ ...relaySvc.server.relayInfo(), relayAddrs: ownAddrs().slice(0, MAX_RELAY_INFO_ADDRS) }),
    });
    services.relayInfo = publisher;
    meshNode.addStatusProvider('relayInfo', () => publisher.status());
  }
  const control = capability(transport, 'connectionControl');
  if (control !== undefined) {
    const c = opts.connect ?? {};
    const manager = new ConnectionManager({
      rng: opts.components.rng,
      metrics: opts.components.metrics,
      punchDelayMs: c.punchDelayMs ?? 10,
      publicPunchDelayMs: c.publicPunchDelayMs ?? 100,
      directTimeoutMs: c.relayDelayMs ?? 500,
      publicDirectTimeoutMs: c.publicRelayDelayMs ?? 2_000,
      relayTimeoutMs: c.relayTimeoutMs ?? 5_000,
      upgradeIntervalMs: c.upgradeIntervalMs ?? 15_000,
    });
    const relayClient = new RelayClient({ clock: opts.components.clock });
    services.relayRanking = new RelayRanking({ dht, client: relayClient, transport: control, components: opts.components });
    services.connector = new SmartConnector(
      {
        node: meshNode,
        transport: control,
        manager,
        relayLink: services.relayLink,
        punch: services.punch,
        relayClient,
        localCandidates: ownAddrs,
        ...(relaySvc !== undefined ? { servesAsRelay: (id: Uint8Array) => relaySvc.serves(id) } : {}),
      },
      c,
    );
  }
  attachTraversal(meshNode, {
    connector: services.connector,
    // with nobody left to ask (cut off until just now), join again first instead of failing the lookup
    resolve: async (identity) => {
      await rejoin.joinNow();
      return dht.resolvePeer(identity);
    },
    relay: services.relayLink,
  });
  const connector = services.connector;
  if (connector !== undefined) {
    meshNode.addStatusProvider('paths', () => ({
      relaySessions: connector.relaySessions,
      peers: connector.stats().map((p) => ({ peer: toHex(p.peerId), kind: p.kind, rttMs: p.rttMs, upgrades: p.upgrades, failures: p.failures })),
    }));
  }
  meshNode.addStatusProvider('nat', (): NatStatus & Record<string, unknown> => ({
    ...addresses.nat,
    relayServer,
    relays: services.relayLink?.status() ?? [],
    ...(services.punch ? { holePunch: services.punch.status() } : {}),
  }));
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
        addPeer: (c) => {
          const added = pubsub.addPeer(c);
          // The DHT's measured RTT feeds gossip's latency-tiered mesh (used when that mode is on).
          const rtt = dht.tiering.rttOf?.(c.id);
          if (rtt !== undefined) pubsub.observeRtt(c.id, rtt);
          return added;
        },
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

  // Joins again when every DHT contact was evicted (cut off from the network): ping the bootstrap
  // peers, join through those that answered, republish our record (our NAT may have mapped us anew).
  const rejoin = new RejoinKeeper({
    clock: opts.components.clock,
    isolated: () => dht.telemetrySnapshot().routingTableSize === 0,
    rejoin: async () => {
      try {
        const results = await pingBootstrapPeers(meshNode, bootstrapAddrs);
        const seeds: Contact[] = results.filter((r) => r.ok && r.nodeId !== undefined).map((r) => ({ id: fromHex(r.nodeId!), addr: r.addr }));
        if (seeds.length === 0) return false;
        await dht.bootstrap(seeds);
        await addresses.publishRecord();
        opts.components.logger.info('joined the network again', { seeds: seeds.length });
        feed?.refresh();
        return true;
      } catch (err) {
        opts.components.logger.debug('join again failed', { error: errorText(err) });
        return false;
      }
    },
  });

  return {
    meshNode,
    services,
    smartConnect(record, copts) {
      if (services.connector === undefined) return Promise.reject(new TransportError('this transport cannot make smart connections'));
      if (!verifyEndpointRecord(record)) return Promise.reject(new IdentityError('endpoint record signature does not verify'));
      return services.connector.connect(
        { nodeId: nodeIdOfRecord(record), addrs: record.addrs, relays: record.relays, behindNat: behindNat(record.addrs) },
        copts,
      );
    },
    async start() {
      await meshNode.start();
      await addresses.start(bootstrapAddrs[0] ?? opts.relays?.[0]);
      dht.attach();
      services.relayService?.start();
      services.rendezvous?.start();
      services.relayLink?.start();
      feed?.start();
      stopTelemetry = exportDhtTelemetry(dht, opts.components.metrics, opts.components.clock);
    },
    async bootstrap(bopts = {}) {
      // Our relays answer first (or fail) so the record we publish lists the ones we can be reached through.
      const [results] = await Promise.all([pingBootstrapPeers(meshNode, bootstrapAddrs, bopts), services.relayLink?.ready()]);
      const seeds: Contact[] = results
        .filter((r) => r.ok && r.nodeId !== undefined)
        .map((r) => ({ id: fromHex(r.nodeId!), addr: r.addr }));
      // Our address as the first answering seed sees it (a NAT's mapping, when behind one); asked
      // before the DHT join, which can take long behind NAT (lookups toward unreachable addresses).
      const seed = results.find((r) => r.ok && r.nodeId !== undefined);
      if (seed !== undefined) await addresses.learnReflexive({ addr: seed.addr, nodeId: seed.nodeId! }, bopts);
      const joined = seeds.length > 0 || bootstrapAddrs.length === 0;
      if (joined) await dht.bootstrap(seeds);
      if (joined && (await addresses.publishRecord())) {
        await services.relayInfo?.start();
        services.relayRanking?.start();
      }
      // The join filled the routing table: hand its contacts to pubsub now, not at the next tick.
      feed?.refresh();
      // From now on, a routing table emptied by a partition is refilled through the same peers.
      if (joined && bootstrapAddrs.length > 0) rejoin.start();
      return results;
    },
    async stop() {
      rejoin.stop();
      stopTelemetry?.();
      feed?.stop();
      services.pubsub?.stop();
      services.relayLink?.stop();
      services.relayService?.stop();
      services.rendezvous?.stop();
      services.punch?.stop();
      services.connector?.stop();
      services.relayInfo?.stop();
      services.relayRanking?.stop();
      addresses.stop();
      dht.stop();
      await meshNode.stop();
    },
  };
}
