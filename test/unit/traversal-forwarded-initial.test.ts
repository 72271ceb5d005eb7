/**
 * A punch's request carries the first flight of our dial to the peer's first public address
 * (HolePunchStart.initial); the rendezvous hands it to the peer, whose punch driver gives it to its
 * transport as if it had come from our observed address — before its first checks (its answer opens
 * its NAT toward us as they would, and is what we wait for). The QUIC side of
 * it is test/integration/forwarded-initial-quic.test.ts; here the connector and the punch driver on
 * the in-memory NAT lab, with the transport's two hooks stubbed.
 */
import { describe, expect, it } from 'vitest';
import { capability } from '../../src/transport/capabilities.js';
import { probePeer } from '../../src/traversal/probe.js';
import { onDial } from '../support/dial-spy.js';
import { natLab } from '../support/memory-nat.js';
import { settle } from '../support/virtual-time.js';

const FLIGHT = new Uint8Array(1_200).fill(0xc3);

async function probeVia(addr: string) {
  const l = natLab(91600);
  const { nodes, stop } = await l.withRelay([{}, {}]);
  const [alice, bob] = nodes;
  const dialled: string[] = [];
  onDial(alice!.meshNode, (target) => dialled.push(target.addr));
  // alice's transport: the first flight of a dial it has started
  const asked: { addr: string; dialledBefore: boolean }[] = [];
  capability(alice!.meshNode.transport, 'connectionControl')!.forwardFirstFlight = (a) => {
    asked.push({ addr: a, dialledBefore: dialled.includes(a) });
    return dialled.includes(a) ? FLIGHT : undefined;
  };
  // bob's transport: what reached it, and whether his checks had left before
  const raw = capability(bob!.meshNode.transport, 'rawDatagrams')!;
  const send = raw.sendRawDatagram.bind(raw);
  let checksSent = 0;
  raw.sendRawDatagram = (b, h, p) => {
    checksSent++;
    send(b, h, p);
  };
  const forwarded: { bytes: Uint8Array; from: string; checksBefore: number }[] = [];
  raw.acceptForwardedInitial = (bytes, host, port) => {
    forwarded.push({ bytes, from: `${host}:${port}`, checksBefore: checksSent });
    return 'accepted';
  };
  const r = await settle(l.clock, probePeer(alice!.meshNode, { addr, nodeId: bob!.meshNode.nodeId }, { timeoutMs: 3_000 }));
  const status = bob!.services.punch!.status().forwardedInitials;
  await stop();
  return { r, asked, forwarded, status, aliceAddr: alice!.meshNode.contact.addr };
}

describe('a forwarded Initial in a hole punch', () => {
  it("rides in the punch's request and reaches the peer's transport as from our observed address", async () => {
    const { r, asked, forwarded, status, aliceAddr } = await probeVia('203.0.113.77:4433');
    expect(r).toMatchObject({ connected: true, path: 'hole-punched' });
    expect(asked).toEqual([{ addr: '203.0.113.77:4433', dialledBefore: true }]);
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]!.bytes).toEqual(FLIGHT);
    expect(forwarded[0]!.from).toBe(aliceAddr); // where the rendezvous saw alice
    expect(forwarded[0]!.checksBefore).toBe(0);
    expect(status).toEqual({ accepted: 1, known: 0, refused: 0 });
  });

  it('is not sent for a peer we only know private addresses of', async () => {
    const { r, asked, forwarded } = await probeVia('10.250.0.1:4433');
    expect(r).toMatchObject({ connected: true, path: 'hole-punched' });
    expect(asked).toEqual([]);
    expect(forwarded).toEqual([]);
  });
});
