/**
 * A connect to a peer we are already connected to (probePeer without `fresh`, e.g. the lab's scenario
 * probing a pair that carries a stream) joins the connection we have: its time to connect is the time
 * this connect took — none — not the age of the connection (which made a probe seconds after a stream
 * started read as a connect of seconds).
 */
import { describe, expect, it } from 'vitest';
import { bytesEqual } from '../../src/core/bytes.js';
import { probePeer } from '../../src/traversal/probe.js';
import { onDial } from '../support/dial-spy.js';
import { natLab } from '../support/memory-nat.js';
import { settle } from '../support/virtual-time.js';

describe('probePeer on a connection that exists', () => {
  it('reports the time this connect took, not how long ago the connection was made', async () => {
    const l = natLab(91300);
    const { nodes, stop } = await l.withRelay([{}, {}]);
    const [alice, bob] = nodes;
    const target = { addr: '10.250.0.1:4433', nodeId: bob!.meshNode.nodeId };
    const first = await settle(l.clock, probePeer(alice!.meshNode, target, { timeoutMs: 3_000 }));
    expect(first).toMatchObject({ connected: true, path: 'hole-punched' });
    expect(first.timeToConnectMs).toBeGreaterThan(0);
    await l.wait(7_000);
    const again = await settle(l.clock, probePeer(alice!.meshNode, target, { timeoutMs: 3_000 }));
    expect(again).toMatchObject({ connected: true, path: 'hole-punched' });
    expect(again.timeToConnectMs).toBe(0);
    await stop();
  });
});

describe('time to connect', () => {
  /** Alice probes bob, a public peer; starting her first dial to bob takes `costMs` (synchronous work: time passes, no timer fires). */
  async function connectWithDialCost(costMs: number): Promise<number | null> {
    const l = natLab(91400);
    const { nodes, stop } = await l.withRelay([{}, { natted: false }]);
    const [alice, bob] = nodes;
    let charged = false;
    onDial(alice!.meshNode, (target) => {
      if (!charged && bytesEqual(target.nodeId!, bob!.meshNode.nodeId)) {
        charged = true;
        l.clock.elapse(costMs);
      }
    });
    const target = { addr: bob!.meshNode.contact.addr, nodeId: bob!.meshNode.nodeId };
    const r = await settle(l.clock, probePeer(alice!.meshNode, target, { timeoutMs: 3_000 }));
    await stop();
    expect(r.path).toBe('direct'); // the dial that paid the cost is the one that won
    return r.timeToConnectMs;
  }

  it('counts from the connect call, so starting the dials and the punch counts too', async () => {
    const base = await connectWithDialCost(0);
    expect(base).toBeGreaterThan(0);
    expect(await connectWithDialCost(7)).toBe(base! + 7);
  });

  /** Alice probes natted bob at an address where he is not, so the punch finds him; closing that losing dial costs `costMs`. */
  async function connectWithCancelCost(costMs: number): Promise<{ ms: number | null; closed: boolean }> {
    const l = natLab(91500);
    const { nodes, stop } = await l.withRelay([{}, {}]);
    const [alice, bob] = nodes;
    const nowhere = '10.250.0.1:4433';
    let losing: AbortSignal | undefined;
    onDial(alice!.meshNode, (target, opts) => {
      const signal = opts?.signal;
      if (target.addr === nowhere && signal !== undefined && losing === undefined) {
        losing = signal;
        signal.addEventListener('abort', () => l.clock.elapse(costMs), { once: true });
      }
    });
    const r = await settle(l.clock, probePeer(alice!.meshNode, { addr: nowhere, nodeId: bob!.meshNode.nodeId }, { timeoutMs: 3_000 }));
    await stop();
    expect(r.path).toBe('hole-punched');
    return { ms: r.timeToConnectMs, closed: losing?.aborted ?? false };
  }

  it('does not count closing the dials that lost (done once the connect has resolved)', async () => {
    const cheap = await connectWithCancelCost(0);
    const costly = await connectWithCancelCost(9);
    expect(cheap.ms).toBeGreaterThan(0);
    expect(costly).toEqual({ ms: cheap.ms, closed: true });
  });
});
