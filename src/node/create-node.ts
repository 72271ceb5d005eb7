/**
 * The composition root for a running node: a MeshNode on a transport, plus the services that
 * attach to it. Today the only service-level behaviour is the interim bootstrap ping; the DHT
 * (src/dht) plugs in at the marked places: construct it with `meshNode` (it uses the MeshService
 * surface: request, handle, contact), add it to `services`, let it own `bootstrap()`, and register
 * its status section.
 */
import type { Components } from '../core/components.js';
import type { Keypair } from '../identity/keypair.js';
import type { Transport } from '../transport/transport.js';
import { pingBootstrapPeers, type BootstrapResult } from './bootstrap.js';
import { MeshNode } from './mesh-node.js';

export interface CreateNodeOptions {
  keypair: Keypair;
  transport: Transport;
  components: Components;
  /** "host:port" of peers to join through. */
  bootstrap?: readonly string[];
}

/** Services attached to the node. The DHT adds `dht: DhtNode` here. */
export type NodeServices = Record<string, unknown>;

export interface NodeAssembly {
  meshNode: MeshNode;
  services: NodeServices;
  /** Start the transport, then the services. */
  start(): Promise<void>;
  /** Join the network through the configured bootstrap peers. */
  bootstrap(opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<BootstrapResult[]>;
  /** Stop services, then the transport. Idempotent. */
  stop(): Promise<void>;
}

export function createNode(opts: CreateNodeOptions): NodeAssembly {
  const meshNode = new MeshNode({ keypair: opts.keypair, transport: opts.transport, components: opts.components });
  const services: NodeServices = {};
  const bootstrapAddrs = [...(opts.bootstrap ?? [])];
  // DHT: `services.dht = new DhtNode({ mesh: meshNode, components: opts.components, ... })` and
  // `meshNode.addStatusProvider('dht', () => services.dht.telemetry())` go here.

  return {
    meshNode,
    services,
    async start() {
      await meshNode.start();
    },
    async bootstrap(bopts = {}) {
      // DHT: replace with the DHT's join (ping + self-lookup) over `bootstrapAddrs`.
      return pingBootstrapPeers(meshNode, bootstrapAddrs, bopts);
    },
    async stop() {
      await meshNode.stop();
    },
  };
}
