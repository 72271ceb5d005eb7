/**
 * A QUIC Initial forwarded through a hole punch's rendezvous (HolePunchStart.initial), on real QUIC
 * over 127.0.0.1: the peer takes it as if it had come from the client's observed address and answers
 * there at once. Stand-ins for the NATs: a black-hole socket for an address that swallows what the
 * client sends (the peer's NAT before it opened, or its symmetric NAT's other port), and a port
 * nobody listens on yet.
 */
import { describe, expect, it } from 'vitest';
import { Keypair } from '../../src/identity/keypair.js';
import { parseAddr } from '../../src/transport/quic/addr.js';
import { QuicTransport } from '../../src/transport/quic/index.js';
import type { TransportHandlers } from '../../src/transport/transport.js';
import { closedAfterEach, deadPort } from '../support/loopback.js';
import { pollUntil } from '../support/poll.js';

const { track, udp } = closedAfterEach();

const handlers: TransportHandlers = { onRequest: () => ({ type: 'Ack', rejection: null }) };
const punching = { repeatInitial: { intervalMs: 5, forMs: 1_500 }, timeoutMs: 5_000 };

async function transport(port = 0, keypair = Keypair.generate()): Promise<QuicTransport> {
  const t = track(new QuicTransport({ keypair, host: '127.0.0.1', port }));
  await t.start(handlers);
  return t;
}

/** A socket that swallows everything: counts what arrived. */
async function blackHole(): Promise<{ addr: string; received: () => number }> {
  const sock = await udp();
  let n = 0;
  sock.on('message', () => n++);
  return { addr: `127.0.0.1:${sock.address().port}`, received: () => n };
}

function at(addr: string): [string, number] {
  const hp = parseAddr(addr);
  return [hp.host, hp.port];
}

describe('forwarded Initials on QUIC', () => {
  it('a peer answering from an address we never dialled (a symmetric NAT) gets the connection, and it carries requests', async () => {
    const bob = await transport();
    const alice = await transport();
    const hole = await blackHole(); // where bob's record says he is: his NAT's port toward the rendezvous
    const connected = alice.connect({ addr: hole.addr, nodeId: bob.localNodeId }, punching);
    const initial = alice.forwardFirstFlight(hole.addr);
    expect(initial?.length).toBeGreaterThanOrEqual(1_200);
    expect(bob.acceptForwardedInitial(initial!, ...at(alice.localAddr))).toBe('accepted');
    const peer = await connected;
    expect(peer.nodeId).toEqual(bob.localNodeId);
    expect(peer.addr).toBe(bob.localAddr); // where bob really answered from
    // requests go where bob is, not into the hole (counted after a first round trip: a repeat of the
    // first flight sent just before the answer may still be on its way into the hole)
    const ping = { type: 'Ping' as const, from: { id: alice.localNodeId, addr: alice.localAddr } };
    await alice.request({ addr: hole.addr, nodeId: bob.localNodeId }, ping);
    const swallowed = hole.received();
    for (let i = 0; i < 5; i++) {
      const reply = await alice.request({ addr: hole.addr, nodeId: bob.localNodeId }, ping);
      expect(reply.msg.type).toBe('Ack');
    }
    expect(hole.received()).toBe(swallowed);
    expect(alice.forwardFirstFlight(hole.addr)).toBeUndefined(); // heard from: nothing left to forward
  });

  it('a peer answering from the dialled address: the connection is there before our own Initial got in; a second copy is known', async () => {
    const port = await deadPort();
    const alice = await transport();
    // nobody at `port` yet: the dial's first flight is lost, like at a NAT that has not opened
    const bobAddr = `127.0.0.1:${port}`;
    const bobKey = Keypair.generate();
    const connected = alice.connect({ addr: bobAddr, nodeId: bobKey.nodeId }, punching);
    const initial = alice.forwardFirstFlight(bobAddr)!;
    const bob = await transport(port, bobKey);
    expect(bob.acceptForwardedInitial(initial, ...at(alice.localAddr))).toBe('accepted');
    const peer = await connected;
    expect(peer.addr).toBe(bobAddr);
    expect(bob.acceptForwardedInitial(initial, ...at(alice.localAddr))).toBe('known');
    await pollUntil('bob to see alice', () => bob.connectedPeers().length === 1);
  });

  it('a client seen at another address than the rendezvous said replaces the provisional connection', async () => {
    const port = await deadPort();
    const alice = await transport();
    const wrong = await blackHole(); // the rendezvous saw alice's symmetric NAT at another port
    const bobKey = Keypair.generate();
    const connected = alice.connect({ addr: `127.0.0.1:${port}`, nodeId: bobKey.nodeId }, punching);
    const initial = alice.forwardFirstFlight(`127.0.0.1:${port}`)!;
    const bob = await transport(port, bobKey);
    expect(bob.acceptForwardedInitial(initial, ...at(wrong.addr))).toBe('accepted');
    await pollUntil("bob's answer at the address the rendezvous gave", () => wrong.received() > 0);
    // alice's own next copy arrives from where she really is: bob starts over there
    const peer = await connected;
    expect(peer.nodeId).toEqual(bob.localNodeId);
    await pollUntil('bob to see alice', () => bob.connectedPeers().length === 1);
  });

  it('refuses what is not a usable Initial, and has no first flight to forward without a dial', async () => {
    const bob = await transport();
    const alice = await transport();
    const [host, port] = at(alice.localAddr);
    expect(bob.acceptForwardedInitial(new Uint8Array(100).fill(0xc0), host, port)).toBe('refused');
    const wrongVersion = new Uint8Array(1_200).fill(0);
    wrongVersion.set([0xc0, 0xba, 0xba, 0xba, 0xba, 8]);
    expect(bob.acceptForwardedInitial(wrongVersion, host, port)).toBe('refused');
    const shortHeader = new Uint8Array(1_200).fill(0x40);
    expect(bob.acceptForwardedInitial(shortHeader, host, port)).toBe('refused');
    const garbage = new Uint8Array(1_200).fill(0);
    garbage.set([0xc0, 0, 0, 0, 1, 8]); // v1 Initial header, nonsense after it
    expect(bob.acceptForwardedInitial(garbage, host, port)).toBe('refused');
    expect(alice.forwardFirstFlight(bob.localAddr)).toBeUndefined();
    await alice.connect({ addr: bob.localAddr, nodeId: bob.localNodeId });
    expect(alice.forwardFirstFlight(bob.localAddr)).toBeUndefined(); // established: nothing to forward
  });
});
