/**
 * The NAT-traversal metrics a node records as a party (src/traversal/traversal-metrics.ts), on the memory
 * transport with NATed nodes and raw datagrams (test/support/memory-nat.ts) and a ManualClock:
 * quicmesh_holepunch_attempts_total{result} from the punch driver, quicmesh_path_time_to_direct_seconds
 * from probePeer, and quicmesh_relay_client_sessions / quicmesh_relay_client_bytes_total{direction}
 * from the relay link.
 */
import { describe, expect, it } from 'vitest';
import { PromMetrics } from '../../src/metrics/prom.js';
import { parseConnectRequest } from '../../src/node/control.js';
import { probePeer } from '../../src/traversal/probe.js';
import { natLab } from '../support/memory-nat.js';
import { settle } from '../support/virtual-time.js';

/** One sample of an exposition: `name{labels} value`, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Two NATed nodes linked to one relay, each with its own registry. */
async function trio(seed: number) {
  const l = natLab(seed);
  const [am, bm] = [new PromMetrics(), new PromMetrics()];
  const { relay, nodes, stop } = await l.withRelay([{ metrics: am }, { metrics: bm }]);
  const [alice, bob] = nodes;
  const text = (m: PromMetrics) => m.metricsText();
  return { l, relay, alice, bob, stop, aliceText: () => text(am), bobText: () => text(bm) };
}

describe('quicmesh_holepunch_attempts_total (punch driver)', () => {
  it('starts every result at 0 and counts a success on both parties', async () => {
    const { l, alice, bob, stop, aliceText, bobText } = await trio(91000);
    const before = await aliceText();
    for (const result of ['success', 'timeout', 'failed'])
      expect(sample(before, `quicmesh_holepunch_attempts_total{result="${result}"}`)).toBe(0);
    const r = await settle(
      l.clock,
      probePeer(alice.meshNode, { addr: '10.250.0.1:4433', nodeId: bob.meshNode.nodeId }, { timeoutMs: 3_000 }),
    );
    expect(r).toMatchObject({ connected: true, path: 'hole-punched' });
    await l.wait(500); // the ICE nomination completes on both sides (the connect did not wait for it)
    for (const text of [await aliceText(), await bobText()]) {
      expect(sample(text, 'quicmesh_holepunch_attempts_total{result="success"}')).toBe(1);
      expect(sample(text, 'quicmesh_holepunch_attempts_total{result="timeout"}')).toBe(0);
    }
    await stop();
  });

  it('counts a timeout when no punch gets through (the probe then relays)', async () => {
    const { l, alice, bob, stop, aliceText } = await trio(91100);
    l.dropRaw(true);
    const r = await settle(
      l.clock,
      probePeer(alice.meshNode, { addr: '10.250.0.1:4433', nodeId: bob.meshNode.nodeId }, { timeoutMs: 3_000 }),
    );
    expect(r).toMatchObject({ connected: true, path: 'relayed' });
    await l.wait(3_000); // the ICE checks run out of retransmissions
    const text = await aliceText();
    expect(sample(text, 'quicmesh_holepunch_attempts_total{result="timeout"}')).toBe(1);
    expect(sample(text, 'quicmesh_holepunch_attempts_total{result="success"}')).toBe(0);
    await stop();
  });

  it('counts a failure when the rendezvous cannot be reached', async () => {
    const { l, alice, bob, stop, aliceText } = await trio(91200);
    const nowhere = { addr: '10.250.9.9:4433', nodeId: l.nextKeypair().nodeId };
    await expect(settle(l.clock, alice.services.punch!.punchVia(nowhere, bob.meshNode.nodeId, 500))).rejects.toThrow();
    const text = await aliceText();
    expect(sample(text, 'quicmesh_holepunch_attempts_total{result="failed"}')).toBe(1);
    expect(sample(text, 'quicmesh_holepunch_attempts_total{result="success"}')).toBe(0);
    await stop();
  });
});

describe('quicmesh_path_time_to_direct_seconds (probePeer)', () => {
  it('observes direct and hole-punched connects with their time to connect; relayed and failed ones not', async () => {
    const l = natLab(91300);
    const metrics = new PromMetrics();
    const { nodes, stop } = await l.withRelay([{ metrics }, { natted: false }, {}, {}]);
    const [alice, pub, bob, carol] = nodes;
    const count = async () => sample(await metrics.metricsText(), 'quicmesh_path_time_to_direct_seconds_count');
    const sum = async () => sample(await metrics.metricsText(), 'quicmesh_path_time_to_direct_seconds_sum');
    expect(await count()).toBe(0); // registered with the node, before any connect
    const probe = (to: typeof bob) =>
      settle(l.clock, probePeer(alice.meshNode, { addr: to.meshNode.contact.addr, nodeId: to.meshNode.nodeId }, { fresh: true, timeoutMs: 3_000 }));

    const direct = await probe(pub);
    expect(direct).toMatchObject({ connected: true, path: 'direct' });
    expect(await count()).toBe(1);
    expect(await sum()).toBeCloseTo(direct.timeToConnectMs! / 1000, 6);

    const punched = await probe(bob);
    expect(punched).toMatchObject({ connected: true, path: 'hole-punched' });
    expect(punched.timeToConnectMs).toBeGreaterThan(direct.timeToConnectMs!); // the punch's round trips
    expect(await count()).toBe(2);
    expect(await sum()).toBeCloseTo((direct.timeToConnectMs! + punched.timeToConnectMs!) / 1000, 6);

    l.dropRaw(true); // carol's NAT never opens (bob's stays open for alice now, as real mappings do)
    expect(await probe(carol)).toMatchObject({ connected: true, path: 'relayed' });
    const stranger = l.nextKeypair().nodeId;
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
  it('counts a relayed session on both clients and the payload bytes each way, then its release', async () => {
    const { l, relay, alice, bob, stop, aliceText, bobText } = await trio(91400);
    const before = await aliceText();
    expect(sample(before, 'quicmesh_relay_client_sessions')).toBe(0);
    expect(sample(before, 'quicmesh_relay_client_bytes_total{direction="in"}')).toBe(0);
    expect(sample(before, 'quicmesh_relay_client_bytes_total{direction="out"}')).toBe(0);

    l.dropRaw(true);
    const r = await settle(
      l.clock,
      probePeer(alice.meshNode, { addr: '10.250.0.1:4433', nodeId: bob.meshNode.nodeId }, { timeoutMs: 3_000 }),
    );
    expect(r).toMatchObject({ connected: true, path: 'relayed' });
    await l.wait(100); // bob's join and the last forwards arrive
    const a = await aliceText();
    const b = await bobText();
    expect(sample(a, 'quicmesh_relay_client_sessions')).toBe(1);
    expect(sample(b, 'quicmesh_relay_client_sessions')).toBe(1); // the session bob joined
    expect(relay.services.relayService!.status().sessions).toBe(1);
    // the Ping out and its answer back, as alice sent them; bob saw the same bytes the other way
    const aOut = sample(a, 'quicmesh_relay_client_bytes_total{direction="out"}')!;
    const aIn = sample(a, 'quicmesh_relay_client_bytes_total{direction="in"}')!;
    expect(aOut).toBeGreaterThan(0);
    expect(aIn).toBeGreaterThan(0);
    expect(sample(b, 'quicmesh_relay_client_bytes_total{direction="in"}')).toBe(aOut);
    expect(sample(b, 'quicmesh_relay_client_bytes_total{direction="out"}')).toBe(aIn);
    expect(aOut + aIn).toBe(relay.services.relayService!.status().bytesRelayed);

    // a fresh connect supersedes the relayed one: the session is closed at the relay, both sides let go
    // (told not to go to the relay first, which it would now: bob needed the relay last time)
    await settle(
      l.clock,
      probePeer(alice.meshNode, { addr: '10.250.0.1:4433', nodeId: bob.meshNode.nodeId }, { fresh: true, timeoutMs: 100, relayFirst: false }),
    );
    await l.wait(100);
    expect(sample(await aliceText(), 'quicmesh_relay_client_sessions')).toBe(0);
    expect(sample(await bobText(), 'quicmesh_relay_client_sessions')).toBe(0);
    expect(relay.services.relayService!.status().sessions).toBe(0);
    await stop();
  });
});

describe('a peer that needed a relay', () => {
  it('is connected through the relay first next time, and directly first again once a direct path worked', async () => {
    const { l, alice, bob, stop } = await trio(91500);
    const target = { addr: '10.250.0.1:4433', nodeId: bob.meshNode.nodeId };
    l.dropRaw(true); // no direct path: dials and punch fail, the relay fallback comes after 500 ms
    expect(await settle(l.clock, probePeer(alice.meshNode, target, { timeoutMs: 3_000 }))).toMatchObject({ connected: true, path: 'relayed' });
    // within less than the fallback delay: only a connect that goes to the relay at once makes it
    expect(await settle(l.clock, probePeer(alice.meshNode, target, { fresh: true, timeoutMs: 300 }))).toMatchObject({ connected: true, path: 'relayed' });
    // the path opens: the punch that runs beside the relayed connect moves it to direct, and bob is forgotten
    l.dropRaw(false);
    expect(await settle(l.clock, probePeer(alice.meshNode, target, { fresh: true, timeoutMs: 300 }))).toMatchObject({ connected: true });
    await l.wait(1_000);
    const r = await settle(l.clock, probePeer(alice.meshNode, target, { fresh: true, timeoutMs: 3_000 }));
    expect(r).toMatchObject({ connected: true });
    expect(r.path).not.toBe('relayed');
    await stop();
  });
});

describe('POST /connect identity', () => {
  it('accepts the peer public key (64 hex digits) and names a bad one', () => {
    const nodeId = 'ab'.repeat(32);
    const identity = 'CD'.repeat(32);
    expect(parseConnectRequest(JSON.stringify({ addr: '10.0.0.1:4433', nodeId, identity }))).toEqual({
      addr: '10.0.0.1:4433',
      nodeId,
      identity: identity.toLowerCase(),
    });
    for (const bad of ['cd', 42, 'zz'.repeat(32)])
      expect(parseConnectRequest(JSON.stringify({ addr: '10.0.0.1:4433', nodeId, identity: bad }))).toMatch(/^identity: expected 64 hex digits/);
    expect(parseConnectRequest(JSON.stringify({ addr: '10.0.0.1:4433', nodeId, holdMs: 5 }))).toBe('holdMs: unknown field');
  });
});
