/**
 * The behaviour every Transport must show, as one vitest describe block run against each
 * implementation (memory in test/unit/memory-transport.test.ts, QUIC in
 * test/integration/quic-compliance.test.ts). Runs in real time: deadlines here are small but
 * nothing asserts how long anything took.
 *
 * Contract with `makePair`: it returns two transports that are NOT started, each with its own
 * identity; the suite starts them with its own handlers (and closes them at the end of each test).
 * `cleanup()` then releases whatever else makePair created (sockets, networks); `close()` must
 * therefore be idempotent.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Contact } from '../../src/core/types.js';
import { AbortError, IdentityError, TimeoutError, TransportError } from '../../src/errors.js';
import { verifyNodeId } from '../../src/identity/node-id.js';
import type { PeerInfo, Transport, TransportHandlers } from '../../src/transport/transport.js';
import type { Message, Request, Response } from '../../src/wire/messages.js';

export interface TransportPair {
  a: Transport;
  b: Transport;
  cleanup(): Promise<void>;
}

type RequestFn = (peer: PeerInfo, msg: Request) => Promise<Response> | Response;
type NotifyFn = (peer: PeerInfo, msg: Message) => void;

/** Handlers whose behaviour each test swaps in. */
class SwitchableHandlers implements TransportHandlers {
  onRequestFn: RequestFn = (_peer, msg) => ({ type: 'Error', code: 'Unsupported', message: msg.type });
  onNotifyFn: NotifyFn = () => {};
  requests = 0;
  onRequest(peer: PeerInfo, msg: Request): Promise<Response> | Response {
    this.requests++;
    return this.onRequestFn(peer, msg);
  }
  onNotify(peer: PeerInfo, msg: Message): void {
    this.onNotifyFn(peer, msg);
  }
}

/** A promise plus its resolver, for awaiting an event instead of sleeping. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function filled(n: number, v: number): Uint8Array {
  return new Uint8Array(n).fill(v);
}

/** Compare as plain byte arrays (a decoder may hand back Buffers or subarrays). */
function expectBytes(actual: Uint8Array | null | undefined, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(Array.from(actual!)).toEqual(Array.from(expected));
}

function portOf(addr: string): string {
  return addr.slice(addr.lastIndexOf(':') + 1);
}

/** Short deadline for the tests that expect no answer. */
const SHORT_TIMEOUT_MS = 300;

export function runTransportCompliance(name: string, makePair: () => Promise<TransportPair>): void {
  // A bounded per-test deadline: a transport that loses a reply fails fast instead of hanging.
  describe(`Transport compliance: ${name}`, { timeout: 20_000 }, () => {
    let pair: TransportPair;
    let a: Transport;
    let b: Transport;
    let ha: SwitchableHandlers;
    let hb: SwitchableHandlers;
    let fromA: Contact;

    beforeEach(async () => {
      pair = await makePair();
      a = pair.a;
      b = pair.b;
      ha = new SwitchableHandlers();
      hb = new SwitchableHandlers();
      await a.start(ha);
      await b.start(hb);
      fromA = { id: a.localNodeId, addr: a.localAddr };
    });

    afterEach(async () => {
      await a.close();
      await b.close();
      await pair.cleanup();
    });

    const toB = (): { addr: string } => ({ addr: b.localAddr });

    it('round-trips several request and response types intact', async () => {
      const seen: Request[] = [];
      const contact: Contact = { id: filled(32, 7), addr: '192.0.2.1:4433' };
      hb.onRequestFn = (peer, msg) => {
        seen.push(msg);
        switch (msg.type) {
          case 'Ping':
            return { type: 'Ack', rejection: null };
          case 'FindNode':
            return { type: 'Nodes', nodes: [contact, { id: msg.target, addr: '[2001:db8::1]:9000' }] };
          case 'FindValue':
            return { type: 'Value', value: bytes(1, 2, 3, 255), closer: [] };
          case 'Store':
            return { type: 'Ack', rejection: 'QuotaExceeded' };
          case 'WhatIsMyAddr':
            return { type: 'YourAddr', addr: peer.addr };
          case 'Publish':
            return { type: 'Ack', rejection: null };
          default:
            return { type: 'Error', code: 'Unsupported', message: msg.type };
        }
      };

      const ping = await a.request(toB(), { type: 'Ping', from: fromA });
      expect(ping.msg).toEqual({ type: 'Ack', rejection: null });

      const findNode = await a.request(toB(), { type: 'FindNode', from: fromA, target: filled(32, 9) });
      expect(findNode.msg.type).toBe('Nodes');
      const nodes = findNode.msg.type === 'Nodes' ? findNode.msg.nodes : [];
      expect(nodes.map((c) => c.addr)).toEqual(['192.0.2.1:4433', '[2001:db8::1]:9000']);
      expectBytes(nodes[0]?.id, filled(32, 7));
      expectBytes(nodes[1]?.id, filled(32, 9));

      const findValue = await a.request(toB(), { type: 'FindValue', from: fromA, key: filled(32, 3) });
      expect(findValue.msg.type).toBe('Value');
      if (findValue.msg.type === 'Value') {
        expectBytes(findValue.msg.value, bytes(1, 2, 3, 255));
        expect(findValue.msg.closer).toEqual([]);
      }

      const value = filled(1000, 0xab);
      const store = await a.request(toB(), { type: 'Store', from: fromA, key: filled(32, 4), value, kind: 'content' });
      expect(store.msg).toEqual({ type: 'Ack', rejection: 'QuotaExceeded' });

      const mine = await a.request(toB(), { type: 'WhatIsMyAddr', from: fromA });
      expect(mine.msg.type).toBe('YourAddr');
      if (mine.msg.type === 'YourAddr') expect(portOf(mine.msg.addr)).toBe(portOf(a.localAddr));

      const message = { topic: 'lobby', source: filled(32, 5), seqno: 2n ** 63n + 1n, data: bytes(104, 105), signature: filled(64, 6) };
      const publish = await a.request(toB(), { type: 'Publish', from: fromA, message });
      expect(publish.msg).toEqual({ type: 'Ack', rejection: null });

      // What the responder received is what was sent.
      expect(seen.map((m) => m.type)).toEqual(['Ping', 'FindNode', 'FindValue', 'Store', 'WhatIsMyAddr', 'Publish']);
      const storeSeen = seen[3];
      if (storeSeen?.type === 'Store') {
        expectBytes(storeSeen.value, value);
        expect(storeSeen.kind).toBe('content');
      }
      const publishSeen = seen[5];
      expect(publishSeen?.type).toBe('Publish');
      if (publishSeen?.type === 'Publish') {
        expect(publishSeen.message.seqno).toBe(message.seqno);
        expect(publishSeen.message.topic).toBe('lobby');
        expectBytes(publishSeen.message.signature, message.signature);
      }
      for (const m of seen) expectBytes(m.from.id, a.localNodeId);
    });

    it('shows each side the other one’s verified identity', async () => {
      const peers: PeerInfo[] = [];
      hb.onRequestFn = (peer) => {
        peers.push(peer);
        return { type: 'Ack', rejection: null };
      };
      const reply = await a.request(toB(), { type: 'Ping', from: fromA });
      expect(peers).toHaveLength(1);
      const peer = peers[0]!;
      expectBytes(peer.nodeId, a.localNodeId);
      expect(verifyNodeId(peer.nodeId, peer.publicKey)).toBe(true);
      // One socket per node: the requester is seen at its listening port.
      expect(portOf(peer.addr)).toBe(portOf(a.localAddr));
      expectBytes(reply.from.nodeId, b.localNodeId);
      expect(verifyNodeId(reply.from.nodeId, reply.from.publicKey)).toBe(true);

      // And the other way round, with the expected NodeId given.
      ha.onRequestFn = (peerOfB) => ({ type: 'YourAddr', addr: peerOfB.addr });
      const back = await b.request(
        { addr: a.localAddr, nodeId: a.localNodeId },
        { type: 'WhatIsMyAddr', from: { id: b.localNodeId, addr: b.localAddr } },
      );
      expectBytes(back.from.nodeId, a.localNodeId);
      expect(back.msg.type).toBe('YourAddr');
    });

    it('turns a throwing handler into an Error reply and keeps serving', async () => {
      hb.onRequestFn = (_peer, msg) => {
        if (msg.type === 'Ping') throw new Error('handler exploded');
        return { type: 'Ack', rejection: null };
      };
      const failed = await a.request(toB(), { type: 'Ping', from: fromA });
      expect(failed.msg.type).toBe('Error');
      if (failed.msg.type === 'Error') expect(failed.msg.code.length).toBeGreaterThan(0);

      hb.onRequestFn = async () => {
        throw new Error('async handler exploded');
      };
      const failedAsync = await a.request(toB(), { type: 'Ping', from: fromA });
      expect(failedAsync.msg.type).toBe('Error');

      hb.onRequestFn = () => ({ type: 'Ack', rejection: null });
      const ok = await a.request(toB(), { type: 'Ping', from: fromA });
      expect(ok.msg).toEqual({ type: 'Ack', rejection: null });
    });

    it('answers 50 concurrent requests, each with its own response', async () => {
      const n = 50;
      const waiting: Array<() => void> = [];
      const allArrived = deferred<void>();
      // Hold every request until all 50 are in, then answer in reverse order: replies must be
      // matched to requests by id, not by arrival order.
      hb.onRequestFn = (_peer, msg) =>
        new Promise<Response>((resolve) => {
          const target = msg.type === 'FindNode' ? msg.target : new Uint8Array(32);
          waiting.push(() => resolve({ type: 'Nodes', nodes: [{ id: target, addr: `198.51.100.${target[0]}:1` }] }));
          if (waiting.length === n) allArrived.resolve();
        });
      const requests = Array.from({ length: n }, (_, i) =>
        a.request(toB(), { type: 'FindNode', from: fromA, target: filled(32, i) }),
      );
      await allArrived.promise;
      for (const answer of waiting.reverse()) answer();
      const replies = await Promise.all(requests);
      replies.forEach((reply, i) => {
        expect(reply.msg.type).toBe('Nodes');
        if (reply.msg.type === 'Nodes') {
          expect(reply.msg.nodes[0]?.addr).toBe(`198.51.100.${i}:1`);
          expectBytes(reply.msg.nodes[0]?.id, filled(32, i));
        }
      });
    });

    it('delivers a notification', async () => {
      const got = deferred<{ peer: PeerInfo; msg: Message }>();
      hb.onNotifyFn = (peer, msg) => got.resolve({ peer, msg });
      await a.notify(toB(), { type: 'IHave', from: fromA, topic: 't', ids: [bytes(1, 2), bytes(3)] });
      const { peer, msg } = await got.promise;
      expectBytes(peer.nodeId, a.localNodeId);
      expect(msg.type).toBe('IHave');
      if (msg.type === 'IHave') {
        expect(msg.topic).toBe('t');
        expect(msg.ids.map((id) => Array.from(id))).toEqual([[1, 2], [3]]);
      }
      expect(hb.requests).toBe(0);
    });

    it('times out when the handler never answers', async () => {
      const arrived = deferred<void>();
      hb.onRequestFn = () => {
        arrived.resolve();
        return new Promise<Response>(() => {});
      };
      const req = a.request(toB(), { type: 'Ping', from: fromA }, { timeoutMs: SHORT_TIMEOUT_MS });
      await expect(req).rejects.toBeInstanceOf(TimeoutError);
      await arrived.promise; // the request did reach the handler
    });

    it('aborts through an AbortSignal', async () => {
      const arrived = deferred<void>();
      hb.onRequestFn = () => {
        arrived.resolve();
        return new Promise<Response>(() => {});
      };
      const ctrl = new AbortController();
      const req = a.request(toB(), { type: 'Ping', from: fromA }, { signal: ctrl.signal, timeoutMs: 30_000 });
      await arrived.promise;
      ctrl.abort();
      await expect(req).rejects.toBeInstanceOf(AbortError);

      const already = AbortSignal.abort();
      await expect(a.request(toB(), { type: 'Ping', from: fromA }, { signal: already })).rejects.toBeInstanceOf(
        AbortError,
      );
    });

    it('refuses a peer whose NodeId is not the expected one, without serving the request', async () => {
      hb.onRequestFn = () => ({ type: 'Ack', rejection: null });
      const wrong = filled(32, 0x5a);
      await expect(
        a.request({ addr: b.localAddr, nodeId: wrong }, { type: 'Ping', from: fromA }, { timeoutMs: 5_000 }),
      ).rejects.toBeInstanceOf(IdentityError);
      expect(hb.requests).toBe(0);
      // The right expectation still works.
      const ok = await a.request({ addr: b.localAddr, nodeId: b.localNodeId }, { type: 'Ping', from: fromA });
      expect(ok.msg).toEqual({ type: 'Ack', rejection: null });
    });

    it('stops answering once closed, and a closed transport refuses to send', async () => {
      hb.onRequestFn = () => ({ type: 'Ack', rejection: null });
      await a.request(toB(), { type: 'Ping', from: fromA });
      await b.close();
      await b.close(); // idempotent
      await expect(
        a.request(toB(), { type: 'Ping', from: fromA }, { timeoutMs: SHORT_TIMEOUT_MS }),
      ).rejects.toBeInstanceOf(TransportError);
      await expect(
        b.request({ addr: a.localAddr }, { type: 'Ping', from: { id: b.localNodeId, addr: b.localAddr } }),
      ).rejects.toBeInstanceOf(TransportError);
    });

    it('fails requests still pending when the requester closes', async () => {
      const arrived = deferred<void>();
      hb.onRequestFn = () => {
        arrived.resolve();
        return new Promise<Response>(() => {});
      };
      const req = a.request(toB(), { type: 'Ping', from: fromA }, { timeoutMs: 30_000 });
      await arrived.promise;
      await a.close();
      await expect(req).rejects.toBeInstanceOf(TransportError);
    });
  });
}
