/**
 * The connector's pre-check beside a plain dial: it asks a peer that may sit behind a NAT whether its
 * NAT lets us in unsolicited (the answer labels the path), and leaves before the dial's first flight.
 * A peer whose endpoint record says it has no NAT is dialled without one: its path is direct anyway,
 * and the check would only delay the dial's Initial. In-memory NAT lab, virtual time.
 */
import { describe, expect, it } from 'vitest';
import { capability } from '../../src/transport/capabilities.js';
import { onDial } from '../support/dial-spy.js';
import { natLab } from '../support/memory-nat.js';
import { settle } from '../support/virtual-time.js';

/** Connect alice to bob; `publicAddr` goes first in bob's addresses (the memory lab's own are private). */
async function connectTo(behindNat: boolean | undefined, viaRelay = false, publicAddr?: string) {
  const l = natLab(91700);
  const { nodes, stop } = await l.withRelay([{}, { natted: false }]);
  const [alice, bob] = nodes;
  const order: string[] = [];
  const punch = alice!.services.punch!;
  const [start, precheck] = [punch.start.bind(punch), punch.precheck.bind(punch)];
  punch.start = (...args) => {
    order.push('punch request');
    return start(...args);
  };
  punch.precheck = (addr, onAnswered) => {
    order.push(`precheck ${addr}`);
    precheck(addr, onAnswered);
  };
  const relays = viaRelay ? alice!.services.relayLink!.reachableEndpoints() : [];
  const dialled = new Set<string>();
  onDial(alice!.meshNode, (target) => {
    dialled.add(target.addr);
    order.push(`dial ${target.addr}`);
  });
  // the memory transport has no first flights: a stand-in for a dial's Initial
  capability(alice!.meshNode.transport, 'connectionControl')!.forwardFirstFlight = (a) => (dialled.has(a) ? new Uint8Array(1_200) : undefined);
  const bobAddr = bob!.meshNode.contact.addr;
  const addrs = publicAddr !== undefined ? [publicAddr, bobAddr] : [bobAddr];
  const outcome = await settle(
    l.clock,
    alice!.services.connector!.connect({ nodeId: bob!.meshNode.nodeId, addrs, relays, ...(behindNat !== undefined ? { behindNat } : {}) }, { timeoutMs: 3_000 }),
  );
  await stop();
  return { path: outcome.path, order, bobAddr };
}

describe("the connector's pre-check", () => {
  it('goes out before the dial to a peer that may be behind a NAT', async () => {
    for (const behindNat of [true, undefined]) {
      const { path, order, bobAddr } = await connectTo(behindNat);
      expect(path).toBe('direct');
      expect(order.slice(0, 2)).toEqual([`precheck ${bobAddr}`, `dial ${bobAddr}`]);
    }
  });

  it('of the dial whose Initial a punch carries goes out after the punch request', async () => {
    // a peer behind a NAT with a relay: the punch starts at once, with that dial before it
    const { order } = await connectTo(true, true, '203.0.113.77:4433');
    expect(order.slice(0, 3)).toEqual(['dial 203.0.113.77:4433', 'punch request', 'precheck 203.0.113.77:4433']);
  });

  it('is not sent to a peer whose record says it has no NAT', async () => {
    const { path, order, bobAddr } = await connectTo(false);
    expect(path).toBe('direct');
    expect(order).toEqual([`dial ${bobAddr}`]);
  });
});
