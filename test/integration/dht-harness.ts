/**
 * Test harness for DHT integration tests: n DhtNodes on MeshNodes over one MemoryNetwork, all in
 * the virtual time of one ManualClock. `drive` runs the network until a promise settles: it lets
 * pending promise callbacks run, then fires the next timer, and repeats — no sleeping.
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

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Run virtual time until `p` settles; throws when nothing is left to run and it is still pending. */
export async function drive<T>(clock: ManualClock, p: Promise<T>, maxSteps = 2_000_000): Promise<T> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < maxSteps; i++) {
    await flush();
    if (settled) return p;
    if (!clock.step()) {
      await flush();
      if (settled) return p;
      throw new Error('drive: no timers left but the promise is still pending');
    }
  }
  throw new Error(`drive: still pending after ${maxSteps} timer steps`);
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
    await drive(net.clock, net.peers[i]!.dht.bootstrap([seed]));
  }
}
