import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { Components } from '../../src/core/components.js';
import { silentLogger, type LogFields, type Logger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import { noopMetrics, type Metrics } from '../../src/metrics/metrics.js';
import { PromMetrics } from '../../src/metrics/prom.js';
import { createNode, type CreateNodeOptions, type NodeAssembly } from '../../src/node/create-node.js';
import { probePeer } from '../../src/traversal/probe.js';
import { seededKeypairs, settle } from '../support/virtual-time.js';
import { MemoryNetwork } from '../../src/transport/memory/index.js';
import { natLab } from '../support/memory-nat.js';
import { capability } from '../../src/transport/capabilities.js';
import { nodeArgv } from '../../cli/runtime/plan/node-argv.js';
import { nodeConfigFromArgs } from '../../cli/node/node-command.js';
import type { ResolvedTopology } from '../../cli/topology/model.js';

const keys = seededKeypairs(7000);
const keypair = () => keys.next();


function lab() {
  const clock = new ManualClock(1_000);
  const net = new MemoryNetwork({ clock, rng: new SeededRng(5), latencyMs: () => 5, defaultTimeoutMs: 1_000 });
  const make = (opts: Partial<CreateNodeOptions> & { metrics?: Metrics; logger?: Logger } = {}): NodeAssembly => {
    const kp = keypair();
    const transport = net.createTransport({ nodeId: kp.nodeId, publicKey: kp.publicKeyBytes() });
    const components: Components = { clock, rng: new SeededRng(keys.seed), logger: opts.logger ?? silentLogger, metrics: opts.metrics ?? noopMetrics };
    return createNode({ keypair: kp, transport, components, pubsub: false, ...opts });
  };
  return { clock, net, make };
}

/** A relay and two nodes, alice and bob, that keep a link to it (registered by their first keep-alive). */
async function linkedPair(metrics?: Metrics, relayLogger?: Logger) {
  const { clock, make } = lab();
  const relay = make({ relay: true, ...(metrics ? { metrics } : {}), ...(relayLogger ? { logger: relayLogger } : {}) });
  await relay.start();
  const relayAddr = relay.meshNode.contact.addr;
  const alice = make({ relays: [relayAddr] });
  const bob = make({ relays: [relayAddr] });
  await alice.start();
  await bob.start();
  await settle(clock, Promise.all([alice.services.relayLink!.keepAlive(), bob.services.relayLink!.keepAlive()]));
  return { clock, relay, relayAddr, alice, bob };
}

describe('relay service and relay link (memory transport)', () => {
  it('reaches a peer it cannot dial through a relay both keep a link to, and reports path relayed', async () => {
    const metrics = new PromMetrics();
    const { clock, relay, relayAddr, alice, bob } = await linkedPair(metrics);
    expect(bob.services.relayLink!.status()).toEqual([
      { addr: relayAddr, nodeId: Buffer.from(relay.meshNode.nodeId).toString('hex'), reachable: true },
    ]);
    expect(relay.services.relayService!.status().connectedPeers).toBe(2);

    // bob "behind NAT": alice only knows an address nobody answers at
    const target = { addr: '10.250.0.1:4433', nodeId: bob.meshNode.nodeId };
    const result = await settle(clock, probePeer(alice.meshNode, target, { fresh: true, timeoutMs: 2_000 }));
    expect(result).toMatchObject({ connected: true, path: 'relayed' });
    expect(result.timeToConnectMs).toBeGreaterThanOrEqual(500); // the relay waits out the dials' head start
    expect(result.rttMs).toBeGreaterThan(0);
    expect(bob.meshNode.status().requestsServed.Ping).toBeGreaterThanOrEqual(1); // the RTT Ping, through the tunnel
    // the session stays (the connection is kept); forwarded bytes were counted
    expect(relay.services.relayService!.status().sessions).toBe(1);
    expect(relay.services.relayService!.status().bytesRelayed).toBeGreaterThan(0);
    expect(await metrics.metricsText()).toMatch(/quicmesh_relay_bytes_total [1-9]/);
    // a fresh connect lets the old session go
    await settle(clock, probePeer(alice.meshNode, { addr: bob.meshNode.contact.addr, nodeId: bob.meshNode.nodeId }, { fresh: true }));
    await settle(clock, new Promise((r) => clock.setTimer(50, () => r(undefined))));
    expect(relay.meshNode.status().extra.relay).toMatchObject({ sessions: 0 });
    expect(alice.meshNode.status().extra.nat).toMatchObject({ relayServer: false, relays: [{ reachable: true }] });
    await Promise.all([alice.stop(), bob.stop(), relay.stop()]);
  });

  it('frees the sessions of a node whose connection to the relay went away (a restarted node)', async () => {
    const logged: { msg: string; fields?: LogFields }[] = [];
    const logger: Logger = { ...silentLogger, info: (msg, fields) => logged.push({ msg, fields }), child: () => logger };
    const { clock, relay, alice, bob } = await linkedPair(undefined, logger);
    const result = await settle(clock, probePeer(alice.meshNode, { addr: '10.250.0.1:4433', nodeId: bob.meshNode.nodeId }, { timeoutMs: 2_000 }));
    expect(result).toMatchObject({ connected: true, path: 'relayed' });
    expect(relay.services.relayService!.status()).toMatchObject({ sessions: 1, connectedPeers: 2 });
    // bob's connection to the relay goes away (as a QUIC connection does when its process stops):
    // before, the session stayed until the 60 s idle timeout and counted against alice's per-peer limit
    // (the memory transport reports only connections it opened: open one, then lose it)
    const control = capability(relay.meshNode.transport, 'connectionControl')!;
    await settle(clock, control.connect(bob.meshNode.contact));
    expect(relay.services.relayService!.status().sessions).toBe(1); // a connection that opens changes nothing
    control.disconnect(bob.meshNode.nodeId);
    await settle(clock, new Promise((r) => clock.setTimer(50, () => r(undefined))));
    expect(relay.services.relayService!.status()).toMatchObject({ sessions: 0, connectedPeers: 1 });
    // said in the relay's log: a relayed connection that goes silent is explained there
    expect(logged.filter((l) => l.msg.startsWith('relay sessions freed'))).toEqual([
      { msg: "relay sessions freed: the node's last connection closed", fields: expect.objectContaining({ sessions: 1 }) },
    ]);
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
    await settle(clock, alice.services.relayLink!.keepAlive());
    const result = await settle(
      clock,
      probePeer(alice.meshNode, { addr: '10.250.0.2:4433', nodeId: carol.meshNode.nodeId }, { timeoutMs: 2_000 }),
    );
    expect(result.connected).toBe(false);
    expect(result.error).toMatch(/no path.*last relay RemoteError.*Unknown target/);
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

describe('hole punching through a relay as rendezvous (memory transport, NATed nodes)', () => {
  it('punches from both sides, then dials the punched address: path hole-punched', async () => {
    const l = natLab(7100);
    const { relay, nodes, stop } = await l.withRelay([{}, {}]);
    const [alice, bob] = nodes;
    expect(alice.services.punch).toBeDefined();
    const result = await settle(
      l.clock,
      probePeer(alice.meshNode, { addr: '10.250.0.1:4433', nodeId: bob.meshNode.nodeId }, { timeoutMs: 3_000 }),
    );
    expect(result).toMatchObject({ connected: true, path: 'hole-punched' });
    // a plain dial to bob's address could not pass its NAT: both sides sent punches first
    const a = alice.meshNode.contact.addr;
    const b = bob.meshNode.contact.addr;
    expect(l.rawSent.some((s) => s.from === a && s.to === b)).toBe(true);
    expect(l.rawSent.some((s) => s.from === b && s.to === a)).toBe(true);
    expect(alice.meshNode.status().extra.nat).toMatchObject({ holePunch: { punches: 1, successes: 1 } });
    expect(relay.services.relayService!.status().bytesRelayed).toBe(0);
    await stop();
  });

  it('a node that answers a plain dial is reached directly, not through the punch that starts beside it', async () => {
    const l = natLab(7150);
    const { nodes, stop } = await l.withRelay([{}, { natted: false }]);
    const [alice, bob] = nodes;
    const result = await settle(l.clock, probePeer(alice.meshNode, { addr: bob.meshNode.contact.addr, nodeId: bob.meshNode.nodeId }));
    expect(result).toMatchObject({ connected: true, path: 'direct' });
    // the dial answered before the rendezvous did: the punch (10 ms head start) did not decide it
    expect(result.timeToConnectMs).toBeLessThan(20);
    await stop();
  });

  it('a public peer whose answer comes after the rendezvous\'s is still direct: its answer to the pre-check decides, not the race', async () => {
    // alice and bob 8 ms apart, each 5 ms from the relay: the rendezvous answers alice at 10 ms, bob's
    // Pong comes at 16 ms, and bob's first check (bob was told to punch at 10 ms) at 18 ms
    const between = new Set<string>(); // alice's and bob's addresses, once they have them
    const l = natLab(7160, { linkMs: (from, to) => (between.has(from) && between.has(to) ? 8 : 5) });
    const { nodes, stop } = await l.withRelay([{ connect: { punchDelayMs: 0 } }, { natted: false }]);
    const alice = nodes[0].meshNode.contact.addr;
    const bob = nodes[1].meshNode.contact.addr;
    between.add(alice).add(bob);
    const sentBefore = l.rawSent.length;
    const t0 = l.clock.now();
    const result = await settle(l.clock, probePeer(nodes[0].meshNode, { addr: bob, nodeId: nodes[1].meshNode.nodeId }, { fresh: true }));
    expect(result).toMatchObject({ connected: true, path: 'direct' });
    expect(l.clock.now() - t0).toBeGreaterThanOrEqual(16);
    // the pre-check went out beside the dial, and bob's punch checked back later
    const sent = l.rawSent.slice(sentBefore);
    expect(sent[0]).toEqual({ from: alice, to: bob });
    expect(sent.some((s) => s.from === bob && s.to === alice)).toBe(true);
    await stop();
  });

  it('falls back to a relay session when no punch gets through', async () => {
    const l = natLab(7200);
    const { relay, nodes, stop } = await l.withRelay([{}, {}]);
    const [alice, bob] = nodes;
    l.dropRaw(true);
    const result = await settle(
      l.clock,
      probePeer(alice.meshNode, { addr: bob.meshNode.contact.addr, nodeId: bob.meshNode.nodeId }, { timeoutMs: 3_000 }),
    );
    expect(result).toMatchObject({ connected: true, path: 'relayed' });
    expect(alice.meshNode.status().extra.nat).toMatchObject({ holePunch: { punches: 1, successes: 0 } });
    expect(relay.services.relayService!.status().bytesRelayed).toBeGreaterThan(0);
    await stop();
  });

  it('ignores a HolePunchReady from a peer that is not one of its relays', async () => {
    const l = natLab(7300);
    const { nodes, stop } = await l.withRelay([{}, {}]);
    const [alice, bob] = nodes;
    const before = l.rawSent.length;
    bob.meshNode.dispatchNotify(
      { nodeId: alice.meshNode.nodeId, publicKey: alice.meshNode.keypair.publicKeyBytes(), addr: alice.meshNode.contact.addr },
      { type: 'HolePunchReady', peer: alice.meshNode.contact, peerAddrs: ['203.0.113.50:9'], delayMs: 0 },
    );
    await l.wait(100);
    expect(l.rawSent.length).toBe(before);
    expect(bob.meshNode.status().extra.nat).toMatchObject({ holePunch: { punches: 0 } });
    await stop();
  });
});

describe('path state and metrics follow each connect (ConnectionManager)', () => {
  it('records direct, hole-punched, relayed and failed outcomes in quicmesh_path_*', async () => {
    const l = natLab(7400);
    const metrics = new PromMetrics();
    const { nodes, stop } = await l.withRelay([{ metrics }, { natted: false }, {}, {}]);
    const [alice, bob, carol, dave] = nodes;
    const erin = l.make({ natted: true }); // no relay link: unreachable behind its "NAT"
    await erin.start();
    const connector = alice.services.connector!;
    const kind = (n: NodeAssembly) => connector.stats().find((s) => Buffer.from(s.peerId).equals(Buffer.from(n.meshNode.nodeId)));
    const probe = (to: NodeAssembly, addr = to.meshNode.contact.addr) =>
      settle(l.clock, probePeer(alice.meshNode, { addr, nodeId: to.meshNode.nodeId }, { fresh: true, timeoutMs: 3_000 }));

    expect(await probe(bob)).toMatchObject({ path: 'direct' });
    expect(kind(bob)).toMatchObject({ kind: 'Direct', failures: 0 });

    expect(await probe(carol)).toMatchObject({ path: 'hole-punched' });
    expect(kind(carol)).toMatchObject({ kind: 'HolePunched' });

    l.dropRaw(true);
    expect(await probe(dave)).toMatchObject({ path: 'relayed' });
    expect(kind(dave)).toMatchObject({ kind: 'Relayed' });

    expect(await probe(erin)).toMatchObject({ connected: false });
    expect(kind(erin)).toMatchObject({ kind: 'Failed', failures: 1 });

    const text = await metrics.metricsText();
    expect(text).toContain('quicmesh_path_state{kind="Direct"} 1');
    expect(text).toContain('quicmesh_path_state{kind="HolePunched"} 1');
    expect(text).toContain('quicmesh_path_state{kind="Relayed"} 1');
    expect(text).toContain('quicmesh_path_state{kind="Failed"} 1');
    expect(text).toContain('quicmesh_path_failures_total 1');
    expect(text).toContain('quicmesh_path_rtt_seconds_count 3'); // direct, punched, relayed
    await Promise.all([stop(), erin.stop()]);
  });
});
