/**
 * A node cut off from its only DHT server (a partition) evicts it and is left with an empty routing
 * table; once the server is reachable again, the node finds it by itself — the application does not call
 * bootstrap again — and its lookups work again. On the memory transport and a ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { probePeer } from '../../src/traversal/probe.js';
import { natLab } from '../support/memory-nat.js';
import { settle, settleUntil } from '../support/virtual-time.js';

describe('a node whose routing table emptied', () => {
  it('joins again through its bootstrap peers once they answer, and can look peers up again', async () => {
    const l = natLab(93100);
    const boot = l.make();
    await boot.start();
    const bootAddr = boot.meshNode.contact.addr;
    const [a, b] = [l.make({ bootstrap: [bootAddr] }), l.make({ bootstrap: [bootAddr] })];
    for (const n of [a, b]) {
      await n.start();
      await settle(l.clock, n.bootstrap());
    }
    const size = () => a.services.dht.telemetrySnapshot().routingTableSize;
    expect(size()).toBeGreaterThan(0);

    // the partition: every request of a's fails, and each failure evicts the contact
    l.net.setReachable(bootAddr, false);
    l.net.setReachable(b.meshNode.contact.addr, false);
    await settle(l.clock, a.services.dht.iterativeFindNode(b.meshNode.nodeId));
    await settleUntil(l.clock, "a's routing table to empty", () => size() === 0);

    // the heal
    l.net.setReachable(bootAddr, true);
    l.net.setReachable(b.meshNode.contact.addr, true);
    const healedAt = l.clock.now();
    await settleUntil(l.clock, 'a to find the DHT again', () => size() > 0 || l.clock.now() > healedAt + 60_000);
    expect(size()).toBeGreaterThan(0);
    expect(l.clock.now() - healedAt).toBeLessThanOrEqual(5_000);
    const found = await settle(l.clock, a.services.dht.resolvePeer(b.meshNode.keypair.identity));
    expect(found).not.toBeNull();
    await Promise.all([a, b, boot].map((n) => n.stop()));
  });

  it('a lookup right after the heal joins again first instead of finding nobody to ask', async () => {
    const l = natLab(93200);
    const boot = l.make();
    await boot.start();
    const bootAddr = boot.meshNode.contact.addr;
    const a = l.make({ bootstrap: [bootAddr] });
    await a.start();
    await settle(l.clock, a.bootstrap());
    const size = () => a.services.dht.telemetrySnapshot().routingTableSize;
    // a cut off: nothing reaches it, so its requests all fail
    l.net.setReachable(a.meshNode.contact.addr, false);
    await settle(l.clock, a.services.dht.iterativeFindNode(boot.meshNode.nodeId));
    await settleUntil(l.clock, "a's routing table to empty", () => size() === 0);
    // meanwhile c joins and publishes its record, which a cannot hold
    const c = l.make({ bootstrap: [bootAddr] });
    await c.start();
    await settle(l.clock, c.bootstrap());
    l.net.setReachable(a.meshNode.contact.addr, true);
    const target = { addr: c.meshNode.contact.addr, nodeId: c.meshNode.nodeId, identity: c.meshNode.keypair.identity };
    const r = await settle(l.clock, probePeer(a.meshNode, target, { timeoutMs: 3_000 }));
    expect(r.recordFound).toBe(true);
    expect(r.connected).toBe(true);
    await Promise.all([a, c, boot].map((n) => n.stop()));
  });
});
