/**
 * Builds the simulated nodes, each running the unchanged DhtNode, on one of two stacks:
 *
 * - `lean` (default): the DHT's RpcEndpoint is a SimEndpoint on a SimNetwork (sim-network.ts).
 *   Node ids are the seeded random 32 bytes themselves; no keypairs (10,000 Ed25519 keygens cost
 *   seconds and nothing in a DHT run checks a signature).
 * - `mesh`: the full node layer: a keypair from the seeded 32 bytes, a MemoryTransport on a
 *   MemoryNetwork (`encode: false`) and a MeshNode, as a real node wires it. Slower; use it to
 *   check that results do not depend on the plumbing.
 *
 * Either way the DHT's requests go through a thin counting wrapper, so the scenario can tell how
 * many requests each node sent.
 */
import type { Components } from '../core/components.js';
import type { Rng } from '../core/rng.js';
import { silentLogger } from '../core/logger.js';
import type { Contact, NodeId } from '../core/types.js';
import { DhtNode } from '../dht/dht-node.js';
import type { LookupResult } from '../dht/lookup.js';
import type { RpcEndpoint } from '../dht/rpc.js';
import { ConfigError } from '../errors.js';
import { Keypair } from '../identity/keypair.js';
import { noopMetrics } from '../metrics/metrics.js';
import { MeshNode } from '../node/mesh-node.js';
import { MemoryNetwork } from '../transport/memory/network.js';
import type { LatencyModel } from './latency.js';
import type { SimScheduler } from './scheduler.js';
import { SimNetwork } from './sim-network.js';

export type SimStack = 'lean' | 'mesh';

export interface SimDhtHostOptions {
  scheduler: SimScheduler;
  latency: LatencyModel;
  /** Drives message loss in the network. */
  rng: Rng;
  lossRate: number;
  k: number;
  alpha: number;
  tiering: boolean;
  /** Bucket-refresh lookups each joining node runs after its self-lookup (0: self-lookup only). */
  joinRefresh: number;
  stack: SimStack;
  /** `false`: nodes send their stores at once instead of pacing them inside the per-peer limit. */
  storePacing?: false;
}

/** One simulated node as the scenario sees it. */
export interface SimPeer {
  readonly index: number;
  readonly id: NodeId;
  readonly addr: string;
  readonly contact: Contact;
  /** False once taken down by churn. */
  readonly up: boolean;
  /** Requests this node has sent so far. */
  readonly requestsSent: number;
  /** The node's DHT, for inspection (routing table, telemetry). */
  readonly dht: DhtNode;
  /** Join through `contacts` (the DHT's bootstrap: ping them, then a self-lookup). */
  join(contacts: readonly Contact[]): Promise<void>;
  /** Iterative FIND_NODE; `k` overrides the result size (default: the node's k). */
  lookup(target: NodeId, k?: number): Promise<LookupResult>;
  /** Stop answering: messages to this node are lost from now on; its DHT stops. */
  down(): void;
}

/** Address of node `i`: unique, "host:port", stable across runs. */
function addrOf(i: number): string {
  const n = i + 1;
  return `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}:4433`;
}

class Peer implements SimPeer {
  up = true;
  dht!: DhtNode;
  requestsSent = 0;

  constructor(
    readonly index: number,
    readonly id: NodeId,
    readonly addr: string,
    private readonly host: SimDhtHost,
    private readonly takeDown: () => void,
  ) {}

  get contact(): Contact {
    return this.dht.contact;
  }

  async join(contacts: readonly Contact[]): Promise<void> {
    const n = this.host.joinRefresh;
    await this.dht.bootstrap(contacts, { refresh: n > 0, maxRefreshLookups: n });
  }

  lookup(target: NodeId, k?: number): Promise<LookupResult> {
    return this.dht.iterativeFindNode(target, k === undefined ? {} : { k });
  }

  down(): void {
    if (!this.up) return;
    this.up = false;
    this.takeDown();
    this.dht.stop();
  }
}

export class SimDhtHost {
  readonly joinRefresh: number;
  private readonly lean: SimNetwork | undefined;
  private readonly memory: MemoryNetwork | undefined;
  private readonly peers: Peer[] = [];
  private readonly meshNodes: MeshNode[] = [];
  private sentTotal = 0;

  constructor(private readonly opts: SimDhtHostOptions) {
    const { latency } = opts;
    this.joinRefresh = opts.joinRefresh;
    const common = { clock: opts.scheduler.clock, rng: opts.rng, lossRate: opts.lossRate, latencyMs: (from: string, to: string) => latency.oneWayMs(from, to) };
    if (opts.stack === 'lean') this.lean = new SimNetwork(common);
    else if (opts.stack === 'mesh') this.memory = new MemoryNetwork({ ...common, encode: false });
    else throw new ConfigError(`stack must be 'lean' or 'mesh', got '${String(opts.stack)}'`);
  }

  /** Requests sent by all nodes so far. */
  requestsSent(): number {
    return this.sentTotal;
  }

  /** Create, start and attach node number `peers.length` from 32 seeded bytes. */
  async addPeer(seed: Uint8Array, rng: Rng): Promise<SimPeer> {
    const index = this.peers.length;
    const addr = addrOf(index);
    this.opts.latency.addNode(addr);
    const components: Components = { clock: this.opts.scheduler.clock, rng, logger: silentLogger, metrics: noopMetrics };
    let inner: RpcEndpoint;
    let peer: Peer;
    if (this.lean) {
      const ep = this.lean.createEndpoint(Uint8Array.from(seed), addr);
      inner = ep;
      peer = new Peer(index, ep.id, addr, this, () => ep.down());
    } else {
      const memory = this.memory!;
      const keypair = Keypair.generate(seed);
      const transport = memory.createTransport({ nodeId: keypair.nodeId, publicKey: keypair.identity, addr });
      const mesh = new MeshNode({ keypair, transport, components });
      await mesh.start();
      this.meshNodes.push(mesh);
      inner = mesh;
      peer = new Peer(index, keypair.nodeId, addr, this, () => memory.setReachable(addr, false));
    }
    // Count every request the DHT sends, without touching the layer below.
    const counted: RpcEndpoint = {
      contact: inner.contact,
      request: (target, msg, ropts) => {
        peer.requestsSent++;
        this.sentTotal++;
        return inner.request(target, msg, ropts);
      },
      handle: (type, handler) => inner.handle(type, handler),
    };
    peer.dht = new DhtNode({
      rpc: counted,
      components,
      options: {
        k: this.opts.k,
        alpha: this.opts.alpha,
        tierAware: this.opts.tiering,
        ...(this.opts.storePacing === false ? { storePacing: false as const } : {}),
      },
    });
    peer.dht.attach();
    this.peers.push(peer);
    return peer;
  }

  /** Stop every node. */
  async close(): Promise<void> {
    for (const p of this.peers) p.dht.stop();
    for (const m of this.meshNodes) await m.stop();
  }
}
