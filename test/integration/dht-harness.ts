/**
 * Test harness for DHT integration tests: n DhtNodes on MeshNodes over one MemoryNetwork, all in
 * the virtual time of one ManualClock (run it with `settle` from test/support/virtual-time.ts).
 */
import { ManualClock } from '../../src/core/clock.js';
import type { Components } from '../../src/core/components.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import type { Contact } from '../../src/core/types.js';
import { DhtNode, type DhtNodeOptions } from '../../src/dht/dht-node.js';
import { Keypair } from '../../src/identity/keypair.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import { MeshNode } from '../../src/node/mesh-node.js';
import { MemoryNetwork } from '../../src/transport/memory/index.js';
import { settle } from '../support/virtual-time.js';

export interface Peer {
  keypair: Keypair;
  mesh: MeshNode;
  dht: DhtNode;
  contact: Contact;
}

export interface Net {
  clock: ManualClock;
  rng: SeededRng;
  network: MemoryNetwork;
  peers: Peer[];
}

/** One-way latency 5..60 ms, fixed per address pair (symmetric). */
function latency(a: string, b: string): number {
  const s = a < b ? a + b : b + a;
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return 5 + (h % 56);
}

export async function buildNet(n: number, seed: number, options: DhtNodeOptions = {}): Promise<Net> {
  const clock = new ManualClock(0);
  const rng = new SeededRng(seed);
  const network = new MemoryNetwork({ clock, rng: rng.fork(), latencyMs: latency });
  const peers: Peer[] = [];
  for (let i = 0; i < n; i++) peers.push(await addPeer({ clock, rng, network, peers }, options));
  return { clock, rng, network, peers };
}

export async function addPeer(net: Net, options: DhtNodeOptions = {}): Promise<Peer> {
  const keypair = Keypair.generate(net.rng.bytes(32));
  const transport = net.network.createTransport({ nodeId: keypair.nodeId, publicKey: keypair.publicKeyBytes() });
  const components: Components = { clock: net.clock, rng: net.rng.fork(), logger: silentLogger, metrics: noopMetrics };
  const mesh = new MeshNode({ keypair, transport, components });
  await mesh.start();
  const dht = new DhtNode({ rpc: mesh, components, options });
  dht.attach();
  return { keypair, mesh, dht, contact: mesh.contact };
}

/** Bootstrap every peer through peer 0, one after another. */
export async function bootstrapAll(net: Net): Promise<void> {
  const seed = net.peers[0]!.contact.addr;
  for (let i = 1; i < net.peers.length; i++) {
    await settle(net.clock, net.peers[i]!.dht.bootstrap([seed]));
  }
}
