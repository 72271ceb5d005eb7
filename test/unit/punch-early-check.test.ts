/**
 * Hole punching inside one NAT stack (issue 17 item 1). Two nodes at different depths of the same
 * stack: A on the outer NAT's LAN, B behind a home NAT on a deeper LAN. The direct path between
 * them stays inside the stack (about 1 ms), while the rendezvous that starts the punch is on the
 * internet (10 ms away from each). So B — told to punch by the rendezvous — can send its first
 * check to A's host address before A has heard the rendezvous's answer and made its ICE agent.
 * A must still learn B's peer-reflexive address from that early check (RFC 8445 §7.3.1.4: a
 * check that arrives before the remote candidates is processed once they do): it is the only
 * address of B that A can reach (B's host address is private to the home LAN and the outer NAT
 * does not hairpin to B's public mapping).
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { Components } from '../../src/core/components.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import { PunchDriver, type PunchResult } from '../../src/traversal/punch-driver.js';
import type { TraversalNode } from '../../src/traversal/host.js';
import type { RawDatagrams } from '../../src/transport/capabilities.js';
import type { HolePunchReady } from '../../src/wire/messages.js';
import { settle } from '../support/virtual-time.js';

const A = '100.70.0.3:4433'; // on the outer NAT's LAN
const A_PUBLIC = '203.0.113.1:5000'; // A's mapping on the outer NAT (what the rendezvous saw)
const B = '192.168.1.2:4433'; // behind the home NAT
const B_MAPPED = '100.70.0.2:40000'; // the home (+ carrier) NAT's one mapping for B (endpoint-independent)
const B_MAPPED_LATER = '100.70.0.2:40001'; // its mapping after the routers forgot the pair's state (a cold repeat)
const B_PUBLIC = '203.0.113.1:6000'; // B's mapping on the outer NAT: no hairpin, unreachable from A

/** The stack's wire: 1 ms inside the stack; B's packets leave through its mapping, which lets in only endpoints B sent to. */
function stackWire(clock: ManualClock) {
  const handlers = new Map<string, (data: Uint8Array, from: { host: string; port: number }) => void>();
  const permitted = new Set<string>();
  let mapped = B_MAPPED;
  const split = (a: string) => ({ host: a.slice(0, a.lastIndexOf(':')), port: Number(a.slice(a.lastIndexOf(':') + 1)) });
  const raw = (self: string): RawDatagrams => ({
    sendRawDatagram: (bytes, host, port) => {
      const to = `${host}:${port}`;
      let from = self;
      if (self === B) {
        permitted.add(to);
        from = mapped;
      }
      let deliverTo: string | undefined;
      if (to === A) deliverTo = A;
      else if (to === mapped && permitted.has(from)) deliverTo = B;
      if (deliverTo === undefined) return; // private elsewhere, or the outer NAT's public side (no hairpin)
      const copy = Uint8Array.from(bytes);
      clock.setTimer(1, () => handlers.get(deliverTo!)?.(copy, split(from)));
    },
    onRawDatagram: (listener) => {
      handlers.set(self, listener);
      return () => handlers.delete(self);
    },
  });
  /** The routers forget the pair's NAT state: B gets a new mapping, nothing is permitted any more. */
  const forget = (): void => {
    mapped = B_MAPPED_LATER;
    permitted.clear();
  };
  return { raw, forget };
}

function fakeNode(id: number, addr: string, clock: ManualClock): TraversalNode {
  const components: Components = { clock, rng: new SeededRng(id), logger: silentLogger, metrics: noopMetrics };
  const nodeId = new Uint8Array(32).fill(id);
  return {
    nodeId,
    contact: { id: nodeId, addr },
    components,
    onNotify: () => {},
  } as unknown as TraversalNode;
}

describe('a punch between two depths of one NAT stack', () => {
  for (const lateMs of [0, 3, 12]) {
    it(`the initiator learns the peer's address from a check that came ${lateMs} ms before its own agent started`, async () => {
      const clock = new ManualClock(0);
      const wire = stackWire(clock);
      const nodeA = fakeNode(1, A, clock);
      const nodeB = fakeNode(2, B, clock);
      const a = new PunchDriver(nodeA, { raw: wire.raw(A), isRendezvous: () => true, localCandidates: () => ({ host: A, reflexive: A_PUBLIC }) });
      const b = new PunchDriver(nodeB, { raw: wire.raw(B), isRendezvous: () => true, localCandidates: () => ({ host: B, reflexive: B_PUBLIC }) });
      const readyForB: HolePunchReady = { type: 'HolePunchReady', peer: nodeA.contact, peerAddrs: [A_PUBLIC, A], delayMs: 0 };
      const readyForA: HolePunchReady = { type: 'HolePunchReady', peer: nodeB.contact, peerAddrs: [B_PUBLIC, B], delayMs: 0 };
      // The rendezvous's notify reaches B first; its answer reaches A `lateMs` after B's first check did.
      const fromB = b.punch(readyForB, 'controlled');
      fromB.catch(() => {});
      let fromA: Promise<PunchResult> | undefined;
      clock.setTimer(1 + lateMs, () => {
        fromA = a.punch(readyForA, 'controlling');
        fromA.catch(() => {});
      });
      await settle(clock, fromB);
      await settle(clock, new Promise<void>((resolve) => clock.setTimer(2 + lateMs, resolve)));
      const t0 = clock.now();
      const result = await settle(clock, fromA!);
      expect(result.addr).toBe(B_MAPPED);
      expect(clock.now() - t0).toBeLessThan(100); // at once, not after retransmissions
      a.stop();
      b.stop();
    });
  }

  it('a new punch right after one that succeeded learns the peer from a check its lingering predecessor took', async () => {
    const clock = new ManualClock(0);
    const wire = stackWire(clock);
    const nodeA = fakeNode(1, A, clock);
    const nodeB = fakeNode(2, B, clock);
    const a = new PunchDriver(nodeA, { raw: wire.raw(A), isRendezvous: () => true, localCandidates: () => ({ host: A, reflexive: A_PUBLIC }) });
    const b = new PunchDriver(nodeB, { raw: wire.raw(B), isRendezvous: () => true, localCandidates: () => ({ host: B, reflexive: B_PUBLIC }) });
    const readyForB: HolePunchReady = { type: 'HolePunchReady', peer: nodeA.contact, peerAddrs: [A_PUBLIC, A], delayMs: 0 };
    const readyForA: HolePunchReady = { type: 'HolePunchReady', peer: nodeB.contact, peerAddrs: [B_PUBLIC, B], delayMs: 0 };
    // A first punch, B's check early as above: both succeed, and A's attempt lingers (answering).
    const first = b.punch(readyForB, 'controlled');
    first.catch(() => {});
    await settle(clock, new Promise<void>((resolve) => clock.setTimer(5, resolve)));
    expect((await settle(clock, a.punch(readyForA, 'controlling'))).addr).toBe(B_MAPPED);
    // A cold repeat 300 ms later: the routers forgot the pair, B punches again first (new mapping).
    await settle(clock, new Promise<void>((resolve) => clock.setTimer(300, resolve)));
    wire.forget();
    const second = b.punch(readyForB, 'controlled');
    second.catch(() => {});
    await settle(clock, new Promise<void>((resolve) => clock.setTimer(5, resolve)));
    const t0 = clock.now();
    const again = await settle(clock, a.punch(readyForA, 'controlling'));
    expect(again.addr).toBe(B_MAPPED_LATER);
    expect(clock.now() - t0).toBeLessThan(100);
    a.stop();
    b.stop();
  });

  it('a check from a peer nobody punches to is answered and forgotten after a while (bounded)', async () => {
    const clock = new ManualClock(0);
    const wire = stackWire(clock);
    const nodeA = fakeNode(1, A, clock);
    const nodeB = fakeNode(2, B, clock);
    const a = new PunchDriver(nodeA, { raw: wire.raw(A), isRendezvous: () => true, localCandidates: () => ({ host: A, reflexive: A_PUBLIC }) });
    const b = new PunchDriver(nodeB, { raw: wire.raw(B), isRendezvous: () => true, localCandidates: () => ({ host: B, reflexive: B_PUBLIC }) });
    const fromB = b.punch({ type: 'HolePunchReady', peer: nodeA.contact, peerAddrs: [A], delayMs: 0 }, 'controlled');
    fromB.catch(() => {});
    // B gets its answer (A answers any check), so B's side succeeds.
    expect((await settle(clock, fromB)).addr).toBe(A);
    expect(a.status().earlyChecks).toBe(1);
    await settle(clock, new Promise<void>((resolve) => clock.setTimer(10_000, resolve)));
    // Long after, A's own punch no longer uses that stale check: only its own candidates (all unreachable).
    await expect(settle(clock, a.punch({ type: 'HolePunchReady', peer: nodeB.contact, peerAddrs: [B_PUBLIC, B], delayMs: 0 }))).rejects.toThrow(/no candidate pair/);
    a.stop();
    b.stop();
  });
});
