import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { Components } from '../../src/core/components.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import { noopMetrics, type Metrics } from '../../src/metrics/metrics.js';
import { PromMetrics } from '../../src/metrics/prom.js';
import { createNode, type CreateNodeOptions, type NodeAssembly } from '../../src/node/create-node.js';
import { probePeer } from '../../src/node/probe.js';
import { seededKeypairs, settle } from '../support/virtual-time.js';
import { MemoryNetwork } from '../../src/transport/memory/index.js';
import { nodeArgv } from '../../cli/runtime/netns/nodes.js';
import { nodeConfigFromArgs } from '../../cli/node/node-command.js';
import type { ResolvedTopology } from '../../cli/topology/model.js';

const keys = seededKeypairs(7000);
const keypair = () => keys.next();


function lab() {
  const clock = new ManualClock(1_000);
  const net = new MemoryNetwork({ clock, rng: new SeededRng(5), latencyMs: () => 5, defaultTimeoutMs: 1_000 });
  const make = (opts: Partial<CreateNodeOptions> & { metrics?: Metrics } = {}): NodeAssembly => {
    const kp = keypair();
    const transport = net.createTransport({ nodeId: kp.nodeId, publicKey: kp.publicKeyBytes() });
    const components: Components = { clock, rng: new SeededRng(keys.seed), logger: silentLogger, metrics: opts.metrics ?? noopMetrics };
    return createNode({ keypair: kp, transport, components, pubsub: false, ...opts });
  };
  return { clock, net, make };
}

describe('relay service and relay link (memory transport)', () => {
  it('reaches a peer it cannot dial through a relay both keep a link to, and reports path relayed', async () => {
    const { clock, make } = lab();
    const metrics = new PromMetrics();
    const relay = make({ relay: true, metrics });
    await relay.start();
    const relayAddr = relay.meshNode.contact.addr;
    const alice = make({ relays: [relayAddr] });
    const bob = make({ relays: [relayAddr] });
    await alice.start();
    await bob.start();
    // the links' first keep-alive registers both at the relay
    await settle(clock, Promise.all([alice.services.relayLink!.keepAlive(), bob.services.relayLink!.keepAlive()]));
    expect(bob.services.relayLink!.status()).toEqual([
      { addr: relayAddr, nodeId: Buffer.from(relay.meshNode.nodeId).toString('hex'), reachable: true },
    ]);
    expect(relay.services.relayService!.status().connectedPeers).toBe(2);

    // bob "behind NAT": alice only knows an address nobody answers at
    const target = { addr: '10.250.0.1:4433', nodeId: bob.meshNode.nodeId };
    const result = await settle(clock, probePeer(alice.meshNode, target, { fresh: true, timeoutMs: 2_000 }));
    expect(result).toMatchObject({ connected: true, path: 'relayed' });
    expect(result.timeToConnectMs).toBeGreaterThanOrEqual(1_500); // the failed direct try comes first
    expect(result.rttMs).toBeGreaterThan(0);
    expect(bob.meshNode.status().requestsServed.Ping).toBeGreaterThanOrEqual(2); // served through the tunnel
    // the probe closed its session; forwarded bytes were counted
    await settle(clock, new Promise((r) => clock.setTimer(50, () => r(undefined))));
    expect(relay.services.relayService!.status().sessions).toBe(0);
    expect(relay.services.relayService!.status().bytesRelayed).toBeGreaterThan(0);
    expect(await metrics.metricsText()).toMatch(/quicmesh_relay_bytes_total [1-9]/);
    expect(relay.meshNode.status().extra.relay).toMatchObject({ sessions: 0 });
    expect(alice.meshNode.status().extra.nat).toMatchObject({ relayServer: false, relays: [{ reachable: true }] });
    await Promise.all([alice.stop(), bob.stop(), relay.stop()]);
  });

  it('a direct dial that works is reported direct, without touching the relay', async () => {
    const { clock, make } = lab();
    const relay = make({ relay: true });
    await relay.start();
    const alice = make({ relays: [relay.meshNode.contact.addr] });
    const bob = make();
    await alice.start();
    await bob.start();
    const result = await settle(clock, probePeer(alice.meshNode, { addr: bob.meshNode.contact.addr, nodeId: bob.meshNode.nodeId }));
    expect(result).toMatchObject({ connected: true, path: 'direct' });
    expect(relay.services.relayService!.status().bytesRelayed).toBe(0);
    await Promise.all([alice.stop(), bob.stop(), relay.stop()]);
  });

  it('fails with the relay refusal when the target holds no link to the relay', async () => {
    const { clock, make } = lab();
    const relay = make({ relay: true });
    await relay.start();
    const alice = make({ relays: [relay.meshNode.contact.addr] });
    const carol = make(); // no relay link: unknown at the relay
    await alice.start();
    await carol.start();
    const result = await settle(
      clock,
      probePeer(alice.meshNode, { addr: '10.250.0.2:4433', nodeId: carol.meshNode.nodeId }, { timeoutMs: 2_000 }),
    );
    expect(result.connected).toBe(false);
    expect(result.error).toMatch(/RelayRejected.*Unknown target/);
    await Promise.all([alice.stop(), carol.stop(), relay.stop()]);
  });

  it('publishes the relays it is linked to in its endpoint record', async () => {
    const { clock, make } = lab();
    const relay = make({ relay: true });
    await relay.start();
    await settle(clock, relay.bootstrap());
    const relayAddr = relay.meshNode.contact.addr;
    const node = make({ bootstrap: [relayAddr], relays: [relayAddr] });
    await node.start();
    await settle(clock, node.services.relayLink!.keepAlive());
    await settle(clock, node.bootstrap());
    const record = await settle(clock, relay.services.dht.resolvePeer(node.meshNode.keypair.identity));
    expect(record?.relays).toEqual([{ relayId: relay.meshNode.nodeId, addrs: [relayAddr] }]);
    await Promise.all([node.stop(), relay.stop()]);
  });

  it('reports the reflexive address a bootstrap peer sees after joining', async () => {
    const { clock, make } = lab();
    const boot = make();
    await boot.start();
    await settle(clock, boot.bootstrap());
    const node = make({ bootstrap: [boot.meshNode.contact.addr] });
    await node.start();
    await settle(clock, node.bootstrap());
    expect(node.meshNode.status().extra.nat).toMatchObject({
      reflexiveAddr: node.meshNode.contact.addr,
      observedBy: boot.meshNode.contact.addr,
    });
    await Promise.all([node.stop(), boot.stop()]);
  });
});

describe('relay flags', () => {
  it('the lab passes --relay to relay nodes and --relay-peer to every other node', () => {
    const topo = {
      nodes: [
        { name: 'boot', role: 'bootstrap', address: '203.0.113.10', port: 4433, args: [] },
        { name: 'relay', role: 'relay', address: '203.0.113.11', port: 4433, args: [] },
        { name: 'alice', role: 'plain', address: '192.168.1.10', port: 4433, args: [] },
      ],
    } as unknown as ResolvedTopology;
    const opts = { command: ['q'], mgmtAddress: 'm', keyFile: 'k' };
    const relayArgv = nodeArgv(topo, topo.nodes[1]!, opts);
    expect(relayArgv).toContain('--relay');
    expect(relayArgv).not.toContain('--relay-peer');
    const aliceArgv = nodeArgv(topo, topo.nodes[2]!, opts);
    expect(aliceArgv.slice(aliceArgv.indexOf('--relay-peer'), aliceArgv.indexOf('--relay-peer') + 2)).toEqual([
      '--relay-peer',
      '203.0.113.11:4433',
    ]);
    expect(aliceArgv).not.toContain('--relay');
  });

  it('parses --relay and --relay-peer, refusing a bad address', () => {
    const base = { listen: '127.0.0.1:0', 'telemetry-interval': 300 };
    expect(nodeConfigFromArgs({ ...base, relay: true, 'relay-peer': ['203.0.113.11:4433'] })).toMatchObject({
      relay: true,
      relayPeers: ['203.0.113.11:4433'],
    });
    expect(() => nodeConfigFromArgs({ ...base, 'relay-peer': ['nope'] })).toThrow(/--relay-peer/);
  });
});

/** Raw datagrams between memory transports: delivered after 5 ms unless `drop` says otherwise. */
function rawNet(clock: ManualClock) {
  const handlers = new Map<string, (data: Uint8Array, from: { host: string; port: number }) => void>();
  const sent: { from: string; to: string }[] = [];
  let drop: (from: string, to: string) => boolean = () => false;
  return {
    sent,
    setDrop(fn: (from: string, to: string) => boolean) {
      drop = fn;
    },
    attach<T extends { localAddr: string }>(transport: T) {
      return Object.assign(transport, {
        sendRawDatagram(bytes: Uint8Array, host: string, port: number) {
          const from = transport.localAddr;
          const to = `${host}:${port}`;
          sent.push({ from, to });
          if (drop(from, to)) return;
          const copy = Uint8Array.from(bytes);
          const [fh, fp] = from.split(':');
          clock.setTimer(5, () => handlers.get(to)?.(copy, { host: fh!, port: Number(fp) }));
        },
        onRawDatagram(cb: (data: Uint8Array, from: { host: string; port: number }) => void) {
          handlers.set(transport.localAddr, cb);
        },
      });
    },
  };
}

describe('hole punching through a relay as rendezvous (memory transport + raw datagrams)', () => {
  function punchLab() {
    const clock = new ManualClock(1_000);
    const net = new MemoryNetwork({ clock, rng: new SeededRng(9), latencyMs: () => 5, defaultTimeoutMs: 1_000 });
    const raw = rawNet(clock);
    const make = (opts: Partial<CreateNodeOptions> = {}): NodeAssembly => {
      const kp = keypair();
      const transport = raw.attach(net.createTransport({ nodeId: kp.nodeId, publicKey: kp.publicKeyBytes() }));
      const components: Components = { clock, rng: new SeededRng(keys.seed), logger: silentLogger, metrics: noopMetrics };
      return createNode({ keypair: kp, transport, components, pubsub: false, ...opts });
    };
    return { clock, raw, make };
  }

  async function trio(l: ReturnType<typeof punchLab>) {
    const relay = l.make({ relay: true });
    await relay.start();
    const relays = [relay.meshNode.contact.addr];
    const alice = l.make({ relays });
    const bob = l.make({ relays });
    await alice.start();
    await bob.start();
    await settle(l.clock, Promise.all([alice.services.relayLink!.keepAlive(), bob.services.relayLink!.keepAlive()]));
    return { relay, alice, bob };
  }

  it('punches from both sides, then dials the punched address: path hole-punched', async () => {
    const l = punchLab();
    const { relay, alice, bob } = await trio(l);
    expect(alice.services.punch).toBeDefined();
    const result = await settle(
      l.clock,
      probePeer(alice.meshNode, { addr: '10.250.0.1:4433', nodeId: bob.meshNode.nodeId }, { timeoutMs: 3_000 }),
    );
    expect(result).toMatchObject({ connected: true, path: 'hole-punched' });
    // both sides sent punches to the other's address as the rendezvous saw it
    const a = alice.meshNode.contact.addr;
    const b = bob.meshNode.contact.addr;
    expect(l.raw.sent.some((s) => s.from === a && s.to === b)).toBe(true);
    expect(l.raw.sent.some((s) => s.from === b && s.to === a)).toBe(true);
    expect(alice.meshNode.status().extra.nat).toMatchObject({ holePunch: { punches: 1, successes: 1 } });
    expect(relay.services.relayService!.status().bytesRelayed).toBe(0);
    await Promise.all([alice.stop(), bob.stop(), relay.stop()]);
  });

  it('falls back to a relay session when no punch gets through', async () => {
    const l = punchLab();
    const { relay, alice, bob } = await trio(l);
    l.raw.setDrop(() => true);
    const result = await settle(
      l.clock,
      probePeer(alice.meshNode, { addr: '10.250.0.1:4433', nodeId: bob.meshNode.nodeId }, { timeoutMs: 3_000 }),
    );
    expect(result).toMatchObject({ connected: true, path: 'relayed' });
    expect(alice.meshNode.status().extra.nat).toMatchObject({ holePunch: { punches: 1, successes: 0 } });
    expect(relay.services.relayService!.status().bytesRelayed).toBeGreaterThan(0);
    await Promise.all([alice.stop(), bob.stop(), relay.stop()]);
  });

  it('ignores a HolePunchReady from a peer that is not one of its relays', async () => {
    const l = punchLab();
    const { relay, alice, bob } = await trio(l);
    const before = l.raw.sent.length;
    bob.meshNode.dispatchNotify(
      { nodeId: alice.meshNode.nodeId, publicKey: alice.meshNode.keypair.publicKeyBytes(), addr: alice.meshNode.contact.addr },
      { type: 'HolePunchReady', peer: alice.meshNode.contact, peerAddrs: ['203.0.113.50:9'], delayMs: 0 },
    );
    await settle(l.clock, new Promise((r) => l.clock.setTimer(100, () => r(undefined))));
    expect(l.raw.sent.length).toBe(before);
    expect(bob.meshNode.status().extra.nat).toMatchObject({ holePunch: { punches: 0 } });
    await Promise.all([alice.stop(), bob.stop(), relay.stop()]);
  });
});

describe('path state and metrics follow each probe (PathRecorder)', () => {
  it('records direct, hole-punched, relayed and failed outcomes in quicmesh_path_*', async () => {
    const clock = new ManualClock(1_000);
    const net = new MemoryNetwork({ clock, rng: new SeededRng(11), latencyMs: () => 5, defaultTimeoutMs: 1_000 });
    const raw = rawNet(clock);
    const make = (opts: Partial<CreateNodeOptions> & { metrics?: Metrics } = {}): NodeAssembly => {
      const kp = keypair();
      const transport = raw.attach(net.createTransport({ nodeId: kp.nodeId, publicKey: kp.publicKeyBytes() }));
      const components: Components = { clock, rng: new SeededRng(keys.seed), logger: silentLogger, metrics: opts.metrics ?? noopMetrics };
      return createNode({ keypair: kp, transport, components, pubsub: false, ...opts });
    };
    const relay = make({ relay: true });
    await relay.start();
    const relays = [relay.meshNode.contact.addr];
    const metrics = new PromMetrics();
    const alice = make({ relays, metrics });
    const bob = make({ relays });
    const carol = make({ relays });
    const dave = make(); // no relay link: unreachable behind its "NAT"
    for (const n of [alice, bob, carol, dave]) await n.start();
    await settle(clock, Promise.all([alice, bob, carol].map((n) => n.services.relayLink!.keepAlive())));
    const paths = alice.services.paths!;
    const probe = (to: NodeAssembly, addr: string) =>
      settle(clock, probePeer(alice.meshNode, { addr, nodeId: to.meshNode.nodeId }, { fresh: true, timeoutMs: 3_000 }));

    expect(await probe(bob, bob.meshNode.contact.addr)).toMatchObject({ path: 'direct' });
    expect(paths.stats(bob.meshNode.nodeId)).toMatchObject({ kind: 'Direct', failures: 0 });

    expect(await probe(carol, '10.250.0.3:4433')).toMatchObject({ path: 'hole-punched' });
    expect(paths.stats(carol.meshNode.nodeId)).toMatchObject({ kind: 'HolePunched' });

    raw.setDrop(() => true);
    const relayed = await probe(bob, '10.250.0.2:4433');
    expect(relayed).toMatchObject({ path: 'relayed' });
    // the probe closed its relay session again: bob has no path any more
    expect(paths.stats(bob.meshNode.nodeId)).toBeUndefined();

    expect(await probe(dave, '10.250.0.4:4433')).toMatchObject({ connected: false });
    expect(paths.stats(dave.meshNode.nodeId)).toMatchObject({ kind: 'Failed', failures: 1 });

    const text = await metrics.metricsText();
    expect(text).toContain('quicmesh_path_state{kind="HolePunched"} 1'); // carol (bob's path was released)
    expect(text).toContain('quicmesh_path_state{kind="Direct"} 0');
    expect(text).toContain('quicmesh_path_state{kind="Failed"} 1');
    expect(text).toContain('quicmesh_path_failures_total 1');
    expect(text).toContain('quicmesh_path_rtt_seconds_count 3'); // direct, punched, relayed
    await Promise.all([alice, bob, carol, dave, relay].map((n) => n.stop()));
  });
});

