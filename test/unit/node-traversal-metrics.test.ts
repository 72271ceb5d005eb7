/**
 * The NAT-traversal metrics a node records as a party (src/node/traversal-metrics.ts), on the memory
 * transport with raw datagrams and a ManualClock: quicmesh_holepunch_attempts_total{result} from the
 * punch driver, quicmesh_path_time_to_direct_seconds from probePeer, and
 * quicmesh_relay_client_sessions / quicmesh_relay_client_bytes_total{direction} from the relay link
 * (a relayed session held open with holdMs, then released on the clock).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { Components } from '../../src/core/components.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import { PromMetrics } from '../../src/metrics/prom.js';
import { parseConnectRequest } from '../../src/node/control.js';
import { createNode, type CreateNodeOptions, type NodeAssembly } from '../../src/node/create-node.js';
import { probePeer } from '../../src/node/probe.js';
import { seededKeypairs, settle } from '../support/virtual-time.js';
import { MemoryNetwork } from '../../src/transport/memory/index.js';

const keys = seededKeypairs(91000);
const keypair = () => keys.next();


/** Let `ms` of virtual time pass. */
const wait = (clock: ManualClock, ms: number) =>
  settle(clock, new Promise((r) => clock.setTimer(ms, () => r(undefined))));

/** One sample of an exposition: `name{labels} value`, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A memory network whose transports also carry raw datagrams (what the punch driver sends). */
function lab() {
  const clock = new ManualClock(1_000);
  const net = new MemoryNetwork({ clock, rng: new SeededRng(13), latencyMs: () => 5, defaultTimeoutMs: 1_000 });
  const handlers = new Map<string, (data: Uint8Array, from: { host: string; port: number }) => void>();
  let dropRaw = false;
  const make = (opts: Partial<CreateNodeOptions> = {}): NodeAssembly & { metrics: PromMetrics } => {
    const kp = keypair();
    const metrics = new PromMetrics();
    const base = net.createTransport({ nodeId: kp.nodeId, publicKey: kp.publicKeyBytes() });
    const transport = Object.assign(base, {
      sendRawDatagram(bytes: Uint8Array, host: string, port: number) {
        if (dropRaw) return;
        const copy = Uint8Array.from(bytes);
        const [fh, fp] = base.localAddr.split(':');
        clock.setTimer(5, () => handlers.get(`${host}:${port}`)?.(copy, { host: fh!, port: Number(fp) }));
      },
      onRawDatagram(cb: (data: Uint8Array, from: { host: string; port: number }) => void) {
        handlers.set(base.localAddr, cb);
      },
    });
    const components: Components = { clock, rng: new SeededRng(keys.seed), logger: silentLogger, metrics };
    return Object.assign(createNode({ keypair: kp, transport, components, pubsub: false, ...opts }), { metrics });
  };
  const trio = async () => {
    const relay = make({ relay: true });
    await relay.start();
    const relays = [relay.meshNode.contact.addr];
    const alice = make({ relays });
    const bob = make({ relays });
    await alice.start();
    await bob.start();
    await settle(clock, Promise.all([alice.services.relayLink!.keepAlive(), bob.services.relayLink!.keepAlive()]));
    return { relay, alice, bob, stop: () => Promise.all([alice.stop(), bob.stop(), relay.stop()]) };
  };
  return { clock, make, trio, dropRaw: (v: boolean) => (dropRaw = v) };
}

describe('quicmesh_holepunch_attempts_total (punch driver)', () => {
  it('starts every result at 0 and counts a success on both parties', async () => {
    const l = lab();
    const { alice, bob, stop } = await l.trio();
    const before = await alice.metrics.metricsText();
    for (const result of ['success', 'timeout', 'failed'])
      expect(sample(before, `quicmesh_holepunch_attempts_total{result="${result}"}`)).toBe(0);
    const r = await settle(
      l.clock,
      probePeer(alice.meshNode, { addr: '10.250.0.1:4433', nodeId: bob.meshNode.nodeId }, { timeoutMs: 3_000 }),
    );
    expect(r).toMatchObject({ connected: true, path: 'hole-punched' });
    for (const n of [alice, bob]) {
      const text = await n.metrics.metricsText();
      expect(sample(text, 'quicmesh_holepunch_attempts_total{result="success"}')).toBe(1);
      expect(sample(text, 'quicmesh_holepunch_attempts_total{result="timeout"}')).toBe(0);
    }
    await stop();
  });

  it('counts a timeout when no punch gets through (the probe then relays)', async () => {
    const l = lab();
    const { alice, bob, stop } = await l.trio();
    l.dropRaw(true);
    const r = await settle(
      l.clock,
      probePeer(alice.meshNode, { addr: '10.250.0.1:4433', nodeId: bob.meshNode.nodeId }, { timeoutMs: 3_000 }),
    );
    expect(r).toMatchObject({ connected: true, path: 'relayed' });
    const text = await alice.metrics.metricsText();
    expect(sample(text, 'quicmesh_holepunch_attempts_total{result="timeout"}')).toBe(1);
    expect(sample(text, 'quicmesh_holepunch_attempts_total{result="success"}')).toBe(0);
    await stop();
  });

  it('counts a failure when the rendezvous cannot be reached', async () => {
    const l = lab();
    const { alice, bob, stop } = await l.trio();
    const nowhere = { addr: '10.250.9.9:4433', nodeId: keypair().nodeId };
    await expect(settle(l.clock, alice.services.punch!.punchVia(nowhere, bob.meshNode.nodeId, 500))).rejects.toThrow();
    const text = await alice.metrics.metricsText();
    expect(sample(text, 'quicmesh_holepunch_attempts_total{result="failed"}')).toBe(1);
    expect(sample(text, 'quicmesh_holepunch_attempts_total{result="success"}')).toBe(0);
    await stop();
  });
});

describe('quicmesh_path_time_to_direct_seconds (probePeer)', () => {
  it('observes direct and hole-punched connects with their time to connect; relayed and failed ones not', async () => {
    const l = lab();
    const { alice, bob, stop } = await l.trio();
    const count = async () => sample(await alice.metrics.metricsText(), 'quicmesh_path_time_to_direct_seconds_count');
    const sum = async () => sample(await alice.metrics.metricsText(), 'quicmesh_path_time_to_direct_seconds_sum');
    expect(await count()).toBe(0); // registered with the node, before any connect
    const probe = (addr: string) =>
      settle(l.clock, probePeer(alice.meshNode, { addr, nodeId: bob.meshNode.nodeId }, { fresh: true, timeoutMs: 3_000 }));

    const direct = await probe(bob.meshNode.contact.addr);
    expect(direct).toMatchObject({ connected: true, path: 'direct' });
    expect(await count()).toBe(1);
    expect(await sum()).toBeCloseTo(direct.timeToConnectMs! / 1000, 6);

    const punched = await probe('10.250.0.1:4433');
    expect(punched).toMatchObject({ connected: true, path: 'hole-punched' });
    expect(punched.timeToConnectMs).toBeGreaterThanOrEqual(1_500); // the failed direct try is included
    expect(await count()).toBe(2);
    expect(await sum()).toBeCloseTo((direct.timeToConnectMs! + punched.timeToConnectMs!) / 1000, 6);

    l.dropRaw(true);
    expect(await probe('10.250.0.1:4433')).toMatchObject({ connected: true, path: 'relayed' });
    const stranger = keypair().nodeId;
    const failed = await settle(
      l.clock,
      probePeer(alice.meshNode, { addr: '10.250.0.2:4433', nodeId: stranger }, { fresh: true, timeoutMs: 2_000 }),
    );
    expect(failed.connected).toBe(false);
    expect(await count()).toBe(2);
    await stop();
  });
});

describe('quicmesh_relay_client_sessions and quicmesh_relay_client_bytes_total (relay link)', () => {
  it('counts a held relayed session on both clients and the payload bytes each way, then its release', async () => {
    const l = lab();
    const { relay, alice, bob, stop } = await l.trio();
    const before = await alice.metrics.metricsText();
    expect(sample(before, 'quicmesh_relay_client_sessions')).toBe(0);
    expect(sample(before, 'quicmesh_relay_client_bytes_total{direction="in"}')).toBe(0);
    expect(sample(before, 'quicmesh_relay_client_bytes_total{direction="out"}')).toBe(0);

    l.dropRaw(true);
    const r = await settle(
      l.clock,
      probePeer(
        alice.meshNode,
        { addr: '10.250.0.1:4433', nodeId: bob.meshNode.nodeId },
        { timeoutMs: 3_000, holdMs: 5_000 },
      ),
    );
    expect(r).toMatchObject({ connected: true, path: 'relayed' });
    await wait(l.clock, 100); // bob's join and the last forwards arrive
    const a = await alice.metrics.metricsText();
    const b = await bob.metrics.metricsText();
    expect(sample(a, 'quicmesh_relay_client_sessions')).toBe(1);
    expect(sample(b, 'quicmesh_relay_client_sessions')).toBe(1); // the session bob joined
    expect(relay.services.relayService!.status().sessions).toBe(1);
    // two Pings out and their answers back, as alice sent them; bob saw the same bytes the other way
    const aOut = sample(a, 'quicmesh_relay_client_bytes_total{direction="out"}')!;
    const aIn = sample(a, 'quicmesh_relay_client_bytes_total{direction="in"}')!;
    expect(aOut).toBeGreaterThan(0);
    expect(aIn).toBeGreaterThan(0);
    expect(sample(b, 'quicmesh_relay_client_bytes_total{direction="in"}')).toBe(aOut);
    expect(sample(b, 'quicmesh_relay_client_bytes_total{direction="out"}')).toBe(aIn);
    expect(aOut + aIn).toBe(relay.services.relayService!.status().bytesRelayed);

    await wait(l.clock, 5_000); // the hold ends: the session is closed at the relay, both sides let go
    expect(sample(await alice.metrics.metricsText(), 'quicmesh_relay_client_sessions')).toBe(0);
    expect(sample(await bob.metrics.metricsText(), 'quicmesh_relay_client_sessions')).toBe(0);
    expect(relay.services.relayService!.status().sessions).toBe(0);
    await stop();
  });
});

describe('POST /connect holdMs', () => {
  it('accepts a hold within [0, 120000] ms and names a bad one', () => {
    const nodeId = 'ab'.repeat(32);
    expect(parseConnectRequest(JSON.stringify({ addr: '10.0.0.1:4433', nodeId, holdMs: 30_000 }))).toEqual({
      addr: '10.0.0.1:4433',
      nodeId,
      holdMs: 30_000,
    });
    for (const holdMs of [-1, 'soon', 120_001])
      expect(parseConnectRequest(JSON.stringify({ addr: '10.0.0.1:4433', nodeId, holdMs }))).toMatch(/^holdMs: expected a number/);
  });
});
