/**
 * The connector's pre-check beside a plain dial: it asks a peer that may sit behind a NAT whether its
 * NAT lets us in unsolicited (the answer labels the path), and leaves before the dial's first flight.
 * A peer whose endpoint record says it has no NAT is dialled without one: its path is direct anyway,
 * and the check would only delay the dial's Initial. In-memory NAT lab, virtual time.
 */
import { describe, expect, it } from 'vitest';
import { onDial } from '../support/dial-spy.js';
import { natLab } from '../support/memory-nat.js';
import { settle } from '../support/virtual-time.js';

async function connectTo(behindNat: boolean | undefined) {
  const l = natLab(91700);
  const { nodes, stop } = await l.withRelay([{}, { natted: false }]);
  const [alice, bob] = nodes;
  const order: string[] = [];
  const punch = alice!.services.punch!;
  const precheck = punch.precheck.bind(punch);
  punch.precheck = (addr, onAnswered) => {
    order.push(`precheck ${addr}`);
    precheck(addr, onAnswered);
  };
  onDial(alice!.meshNode, (target) => order.push(`dial ${target.addr}`));
  const bobAddr = bob!.meshNode.contact.addr;
  const outcome = await settle(
    l.clock,
    alice!.services.connector!.connect({ nodeId: bob!.meshNode.nodeId, addrs: [bobAddr], relays: [], ...(behindNat !== undefined ? { behindNat } : {}) }, { timeoutMs: 3_000 }),
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

  it('is not sent to a peer whose record says it has no NAT', async () => {
    const { path, order, bobAddr } = await connectTo(false);
    expect(path).toBe('direct');
    expect(order).toEqual([`dial ${bobAddr}`]);
  });
});
