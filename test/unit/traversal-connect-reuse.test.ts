/**
 * A connect to a peer we are already connected to (probePeer without `fresh`, e.g. the lab's scenario
 * probing a pair that carries a stream) joins the connection we have: its time to connect is the time
 * this connect took — none — not the age of the connection (which made a probe seconds after a stream
 * started read as a connect of seconds).
 */
import { describe, expect, it } from 'vitest';
import { probePeer } from '../../src/traversal/probe.js';
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
