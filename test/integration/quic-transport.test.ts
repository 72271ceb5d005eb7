/**
 * QuicTransport on real QUIC over 127.0.0.1: identities, reuse, failures, hostile input.
 * Every wait is on an event; deadlines here are small but nothing asserts how long anything took.
 */
import dgram from 'node:dgram';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { SystemClock, type Clock, type TimerHandle } from '../../src/core/clock.js';
import { AbortError, IdentityError, TimeoutError, TransportError } from '../../src/errors.js';
import { Keypair } from '../../src/identity/keypair.js';
import { capability } from '../../src/transport/capabilities.js';
import { QuicTransport, type QuicTransportOptions } from '../../src/transport/quic/index.js';
import type { PeerInfo, TransportHandlers } from '../../src/transport/transport.js';
import type { Request, Response } from '../../src/wire/messages.js';
import { deadPort } from '../support/loopback.js';

const open: QuicTransport[] = [];

/** A SystemClock that counts timers still armed (neither fired nor cancelled). */
class CountingClock implements Clock {
  private readonly inner = new SystemClock();
  live = 0;
  created = 0;
  now(): number {
    return this.inner.now();
  }
  setTimer(ms: number, fn: () => void): TimerHandle {
    this.live++;
    this.created++;
    let armed = true;
    const disarm = (): void => {
      if (armed) this.live--;
      armed = false;
    };
    const h = this.inner.setTimer(ms, () => {
      disarm();
      fn();
    });
    return {
      cancel: () => {
        disarm();
        h.cancel();
      },
    };
  }
}

function node(opts: Partial<QuicTransportOptions> = {}): QuicTransport {
  const t = new QuicTransport({ keypair: Keypair.generate(), ...opts });
  open.push(t);
  return t;
}

/** Answers Ping with Ack and WhatIsMyAddr with the address it saw; records every peer. */
function echoHandlers(seen: PeerInfo[] = []): TransportHandlers & { bad: Error[] } {
  const bad: Error[] = [];
  return {
    bad,
    onRequest(peer: PeerInfo, msg: Request): Response {
      seen.push(peer);
      if (msg.type === 'WhatIsMyAddr') return { type: 'YourAddr', addr: peer.addr };
      return { type: 'Ack', rejection: null };
    },
    onBadFrame(_addr, err) {
      bad.push(err);
    },
  };
}

const ping = (t: QuicTransport): Request => ({ type: 'Ping', from: { id: t.localNodeId, addr: t.localAddr } });

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

describe('QuicTransport', () => {
  it('does request/response between two nodes, each seeing the other’s verified NodeId', async () => {
    const a = node();
    const b = node();
    const seenByB: PeerInfo[] = [];
    await a.start(echoHandlers());
    await b.start(echoHandlers(seenByB));
    const reply = await a.request({ addr: b.localAddr, nodeId: b.localNodeId }, { type: 'WhatIsMyAddr', from: { id: a.localNodeId, addr: a.localAddr } });
    expect(reply.msg).toEqual({ type: 'YourAddr', addr: a.localAddr });
    expect(toHex(reply.from.nodeId)).toBe(toHex(b.localNodeId));
    expect(reply.from.addr).toBe(b.localAddr);
    expect(toHex(seenByB[0]!.nodeId)).toBe(toHex(a.localNodeId));
    // Reused: more requests in both directions ride the one connection.
    for (let i = 0; i < 5; i++) await a.request({ addr: b.localAddr }, ping(a));
    await b.request({ addr: a.localAddr, nodeId: a.localNodeId }, ping(b));
    expect(a.connectionCount).toBe(1);
    expect(b.connectionCount).toBe(1);
  });

  it('reports when a connection first heard from its peer (path labels): within the dial, the same when reused', async () => {
    const a = node();
    const b = node();
    await a.start(echoHandlers());
    await b.start(echoHandlers());
    const clock = a.components.clock;
    const t0 = clock.now();
    const first = await a.connect({ addr: b.localAddr, nodeId: b.localNodeId });
    const t1 = clock.now();
    expect(toHex(first.nodeId)).toBe(toHex(b.localNodeId));
    expect(first.firstHeardAt).not.toBeNull();
    expect(first.firstHeardAt!).toBeGreaterThanOrEqual(t0);
    expect(first.firstHeardAt!).toBeLessThanOrEqual(t1);
    const again = await a.connect({ addr: b.localAddr, nodeId: b.localNodeId });
    expect(again.firstHeardAt).toBe(first.firstHeardAt);
  });

  it('dials a host name (resolved in the socket’s address family) and IPv6 literals', async () => {
    const a = node();
    const b = node();
    await a.start(echoHandlers());
    await b.start(echoHandlers());
    const port = b.localAddr.split(':')[1];
    const reply = await a.request({ addr: `localhost:${port}`, nodeId: b.localNodeId }, ping(a));
    expect(reply.msg.type).toBe('Ack');
    const a6 = node({ host: '::1' });
    const b6 = node({ host: '::1' });
    await a6.start(echoHandlers());
    await b6.start(echoHandlers());
    expect(b6.localAddr).toMatch(/^\[::1\]:\d+$/);
    const mine = await a6.request({ addr: b6.localAddr }, { type: 'WhatIsMyAddr', from: { id: a6.localNodeId, addr: a6.localAddr } });
    expect(mine.msg).toEqual({ type: 'YourAddr', addr: a6.localAddr });
  });

  it('connects ten nodes all pairs at once', async () => {
    const nodes = Array.from({ length: 10 }, () => node());
    const seen = new Map<QuicTransport, PeerInfo[]>();
    for (const n of nodes) {
      const peers: PeerInfo[] = [];
      seen.set(n, peers);
      await n.start(echoHandlers(peers));
    }
    const jobs: Promise<void>[] = [];
    for (const x of nodes) {
      for (const y of nodes) {
        if (x === y) continue;
        jobs.push(
          x.request({ addr: y.localAddr, nodeId: y.localNodeId }, ping(x)).then((r) => {
            expect(toHex(r.from.nodeId)).toBe(toHex(y.localNodeId));
            expect(r.msg).toEqual({ type: 'Ack', rejection: null });
          }),
        );
      }
    }
    await Promise.all(jobs);
    for (const n of nodes) {
      const from = new Set(seen.get(n)!.map((p) => toHex(p.nodeId)));
      expect(from.size).toBe(9);
      expect(from.has(toHex(n.localNodeId))).toBe(false);
      // Simultaneous dials may leave a duplicate per pair, never more.
      expect(n.connectionCount).toBeGreaterThanOrEqual(9);
      expect(n.connectionCount).toBeLessThanOrEqual(18);
    }
  });

  it('keeps both connections of a simultaneous dial working, and both sides prefer the same one', async () => {
    const a = node();
    const b = node();
    await a.start(echoHandlers());
    await b.start(echoHandlers());
    const [ra, rb] = await Promise.all([
      a.request({ addr: b.localAddr, nodeId: b.localNodeId }, ping(a)),
      b.request({ addr: a.localAddr, nodeId: a.localNodeId }, ping(b)),
    ]);
    expect(ra.msg.type).toBe('Ack');
    expect(rb.msg.type).toBe('Ack');
    for (let i = 0; i < 3; i++) {
      await a.request({ addr: b.localAddr, nodeId: b.localNodeId }, ping(a));
      await b.request({ addr: a.localAddr, nodeId: a.localNodeId }, ping(b));
    }
    const ab = a.connectionTo(b.localNodeId)!;
    const ba = b.connectionTo(a.localNodeId)!;
    expect(ab).toBeDefined();
    expect(ba).toBeDefined();
    // The two ends of one connection: our source CID is the peer's destination CID.
    expect(toHex(ab.native.sourceId())).toBe(toHex(ba.native.destinationId()));
  });

  it('queues requests beyond the peer’s stream limit until streams free up', async () => {
    const a = node({ requestTimeoutMs: 30_000 });
    const b = node();
    await a.start(echoHandlers());
    const seen: PeerInfo[] = [];
    await b.start(echoHandlers(seen));
    const n = 1500; // the peer allows 1000 concurrent streams
    const replies = await Promise.all(Array.from({ length: n }, () => a.request({ addr: b.localAddr }, ping(a))));
    expect(replies.every((r) => r.msg.type === 'Ack')).toBe(true);
    expect(seen).toHaveLength(n);
    expect(a.connectionCount).toBe(1);
  });

  it('refuses a peer whose certificate is for another key than the NodeId expected', async () => {
    const a = node();
    const b = node();
    const impostorId = Keypair.generate().nodeId;
    const seenByB: PeerInfo[] = [];
    await a.start(echoHandlers());
    await b.start(echoHandlers(seenByB));
    await expect(a.request({ addr: b.localAddr, nodeId: impostorId }, ping(a))).rejects.toBeInstanceOf(IdentityError);
    expect(seenByB).toHaveLength(0);
    expect(a.connectionCount).toBe(0); // the refused connection is closed
    // An established connection to b is not handed to a request that expects someone else.
    await a.request({ addr: b.localAddr }, ping(a));
    await expect(a.request({ addr: b.localAddr, nodeId: impostorId }, ping(a))).rejects.toBeInstanceOf(IdentityError);
    expect(a.connectionCount).toBe(1);
  });

  it('fails a dial to a dead port with TimeoutError within the deadline and abandons it', async () => {
    const a = node({ requestTimeoutMs: 300 });
    await a.start(echoHandlers());
    const port = await deadPort();
    await expect(a.request({ addr: `127.0.0.1:${port}` }, ping(a))).rejects.toBeInstanceOf(TimeoutError);
    expect(a.connectionCount).toBe(0);
    await expect(a.request({ addr: `127.0.0.1:${port}` }, ping(a), { timeoutMs: 200 })).rejects.toBeInstanceOf(TimeoutError);
  });

  it("sends a dial's Initial before connect() returns: a connect's time starts with its first packet", async () => {
    const a = node();
    await a.start(echoHandlers());
    const port = await deadPort();
    const sent: number[] = [];
    const send = dgram.Socket.prototype.send;
    dgram.Socket.prototype.send = function (this: dgram.Socket, msg: Parameters<typeof send>[0], ...rest: unknown[]) {
      sent.push((msg as Buffer).length);
      return (send as (...args: unknown[]) => void).call(this, msg, ...rest);
    } as typeof send;
    let dialling: Promise<unknown>;
    try {
      dialling = a.connect({ addr: `127.0.0.1:${port}` }, { timeoutMs: 100 });
      expect(sent).toEqual([1_200]); // one padded Initial, already on the socket
    } finally {
      dgram.Socket.prototype.send = send;
    }
    await expect(dialling).rejects.toBeInstanceOf(TimeoutError);
  });

  it('cancels through an AbortSignal, during a dial and during an exchange', async () => {
    const a = node();
    const b = node();
    await a.start(echoHandlers());
    let arrived!: () => void;
    const inHandler = new Promise<void>((r) => (arrived = r));
    await b.start({
      onRequest: () => {
        arrived();
        return new Promise<Response>(() => {});
      },
    });
    const dial = new AbortController();
    const dead = a.request({ addr: `127.0.0.1:${await deadPort()}` }, ping(a), { signal: dial.signal });
    dial.abort();
    await expect(dead).rejects.toBeInstanceOf(AbortError);
    expect(a.connectionCount).toBe(0);

    const ctrl = new AbortController();
    const pending = a.request({ addr: b.localAddr }, ping(a), { signal: ctrl.signal, timeoutMs: 30_000 });
    await inHandler;
    ctrl.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    expect(a.connectionCount).toBe(1); // the connection outlives the cancelled request
  });

  it('notices a peer that closed: later requests fail as TransportError', async () => {
    const a = node({ requestTimeoutMs: 500 });
    const b = node();
    await a.start(echoHandlers());
    await b.start(echoHandlers());
    await a.request({ addr: b.localAddr }, ping(a));
    await b.close();
    await expect(a.request({ addr: b.localAddr }, ping(a))).rejects.toBeInstanceOf(TransportError);
  });

  it('ignores garbage datagrams and keeps serving', async () => {
    const b = node();
    const a = node();
    await b.start(echoHandlers());
    await a.start(echoHandlers());
    const junk = dgram.createSocket('udp4');
    await new Promise<void>((r) => junk.bind(0, '127.0.0.1', () => r()));
    const port = Number(b.localAddr.split(':')[1]);
    const payloads: Buffer[] = [Buffer.alloc(0), Buffer.from([0x00]), Buffer.from('hello'), Buffer.alloc(40, 0x41)];
    for (let i = 0; i < 200; i++) {
      const len = [5, 30, 1199, 1200, 1350][i % 5]!;
      const p = Buffer.alloc(len);
      for (let j = 0; j < len; j++) p[j] = (i * 31 + j * 17) & 0xff;
      // Half of them dressed as QUIC v1 Initials (long header, version 1, DCID length 8).
      if (i % 2 === 0 && len >= 16) p.set([0xc3, 0, 0, 0, 1, 8], 0);
      payloads.push(p);
    }
    for (const p of payloads) await new Promise<void>((r) => junk.send(p, port, '127.0.0.1', () => r()));
    await new Promise<void>((r) => junk.close(() => r()));
    const reply = await a.request({ addr: b.localAddr, nodeId: b.localNodeId }, ping(a));
    expect(reply.msg.type).toBe('Ack');
    // Fake Initials that quiche cannot decrypt leave no connection state behind.
    expect(b.connectionCount).toBe(1);
  });

  it('resets a stream carrying a garbage or oversized frame and keeps serving everyone', async () => {
    const b = node();
    const hb = echoHandlers();
    await b.start(hb);
    const a = node();
    const c = node();
    await a.start(echoHandlers());
    await c.start(echoHandlers());
    await a.request({ addr: b.localAddr }, ping(a));
    // A frame whose payload is not a message.
    await expect(a.requestBytes({ addr: b.localAddr }, Uint8Array.of(1, 0x7e, 9, 9))).rejects.toBeInstanceOf(TransportError);
    // A frame header declaring more than MAX_FRAME_SIZE, and a stream of unknown type.
    const conn = a.connectionTo(b.localNodeId)!;
    const raw = (bytes: number[]): Promise<Error | null> =>
      new Promise((resolve) => conn.streams.exchangeRaw(Uint8Array.from(bytes), (err) => resolve(err)));
    expect(await raw([0x00, 0xff, 0xff, 0xff, 0xff, 1, 2, 3])).toBeInstanceOf(TransportError);
    expect(await raw([0x7e, 0, 0, 0, 1, 0])).toBeInstanceOf(TransportError);
    expect(hb.bad).toHaveLength(3);
    expect(hb.bad.map((e) => e.name)).toEqual(['DecodeError', 'DecodeError', 'DecodeError']);
    // The same connection and another peer are still served.
    expect((await a.request({ addr: b.localAddr }, ping(a))).msg.type).toBe('Ack');
    expect((await c.request({ addr: b.localAddr }, ping(c))).msg.type).toBe('Ack');
    expect(a.connectionCount).toBe(1);
  });

  it('refuses connections past maxConnections and issues spare connection IDs to the ones it has', async () => {
    const b = node({ maxConnections: 1 });
    const a = node();
    const c = node({ requestTimeoutMs: 300 });
    await b.start(echoHandlers());
    await a.start(echoHandlers());
    await c.start(echoHandlers());
    await a.request({ addr: b.localAddr }, ping(a));
    await expect(c.request({ addr: b.localAddr }, ping(c))).rejects.toBeInstanceOf(TimeoutError);
    expect(b.connectionCount).toBe(1);
    // Spare IDs (beyond the one in use) let either side probe or migrate to a new path.
    const ab = a.connectionTo(b.localNodeId)!;
    const ba = b.connectionTo(a.localNodeId)!;
    expect(ab.native.availableDcids()).toBeGreaterThan(0);
    expect(ba.native.availableDcids()).toBeGreaterThan(0);
  });

  it('survives a NAT rebinding: the server follows the client to its new address', async () => {
    const a = node();
    const b = node();
    await a.start(echoHandlers());
    await b.start(echoHandlers());
    // A toy NAT between a and b whose outside port changes on demand.
    const bind = async (): Promise<dgram.Socket> => {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      return sock;
    };
    const inside = await bind();
    const outside = [await bind(), await bind()];
    let current = outside[0]!;
    let aSide: dgram.RemoteInfo | undefined;
    const bPort = Number(b.localAddr.split(':')[1]);
    inside.on('message', (m, rinfo) => {
      aSide = rinfo;
      current.send(m, bPort, '127.0.0.1');
    });
    for (const o of outside) o.on('message', (m) => aSide && inside.send(m, aSide.port, aSide.address));
    try {
      const viaNat = { addr: `127.0.0.1:${inside.address().port}`, nodeId: b.localNodeId };
      const whoAmI = async (): Promise<string> => {
        const r = await a.request(viaNat, { type: 'WhatIsMyAddr', from: { id: a.localNodeId, addr: a.localAddr } });
        return r.msg.type === 'YourAddr' ? r.msg.addr : '';
      };
      expect(await whoAmI()).toBe(`127.0.0.1:${outside[0]!.address().port}`);
      current = outside[1]!;
      const moved = `127.0.0.1:${outside[1]!.address().port}`;
      // Requests keep working at once and report the new address (the first authentic packet from
      // it); the connection's path follows once b has validated it.
      let seen = '';
      for (let i = 0; i < 50 && (seen !== moved || b.connectionTo(a.localNodeId)?.peerAddr !== moved); i++) seen = await whoAmI();
      expect(seen).toBe(moved);
      expect(b.connectionTo(a.localNodeId)?.peerAddr).toBe(moved);
      expect(b.connectionCount).toBe(1);
    } finally {
      for (const sock of [inside, ...outside]) sock.close();
    }
  });

  it('survives random stream contents (fuzzed) and keeps serving', async () => {
    const b = node();
    const hb = echoHandlers();
    await b.start(hb);
    const a = node();
    await a.start(echoHandlers());
    await a.request({ addr: b.localAddr }, ping(a));
    const conn = a.connectionTo(b.localNodeId)!;
    const cases = fc.sample(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ minLength: 5, maxLength: 3000 }).map((u) => Uint8Array.of(0, ...u)), // "request" type
        fc.tuple(fc.integer({ min: 0, max: 64 }), fc.uint8Array({ maxLength: 64 })).map(([len, body]) => {
          const out = new Uint8Array(5 + body.length); // a plausible header over a random body
          new DataView(out.buffer).setUint32(1, len);
          out.set(body, 5);
          return out;
        }),
      ),
      { seed: 1234, numRuns: 150 },
    );
    const outcomes = await Promise.all(
      cases.map(
        (bytes) => new Promise<string>((resolve) => conn.streams.exchangeRaw(bytes, (err) => resolve(err ? err.name : 'reply'))),
      ),
    );
    // Each stream ends in a typed failure (or, for a lucky valid request, a reply); none hangs.
    for (const o of outcomes) expect(['reply', 'TransportError', 'ProtocolError', 'DecodeError']).toContain(o);
    expect((await a.request({ addr: b.localAddr }, ping(a))).msg.type).toBe('Ack');
    expect(a.connectionCount).toBe(1);
  });

  it('passes non-QUIC datagrams to onRawDatagram and sends raw datagrams from the QUIC port', async () => {
    const a = node();
    const b = node();
    await a.start(echoHandlers());
    await b.start(echoHandlers());
    const raw = capability(b, 'rawDatagrams')!;
    const got = new Promise<{ data: Uint8Array; port: number }>((resolve) => raw.onRawDatagram((data, from) => resolve({ data, port: from.port })));
    // a second listener hears the same datagrams until it is removed
    const second: number[][] = [];
    const removeSecond = raw.onRawDatagram((data) => second.push([...data]));
    const [host, port] = [b.localAddr.split(':')[0]!, Number(b.localAddr.split(':')[1])];
    a.sendRawDatagram(Uint8Array.of(0x01, 0x02, 0x03), host, port);
    const { data, port: fromPort } = await got;
    expect([...data]).toEqual([1, 2, 3]);
    expect(second).toEqual([[1, 2, 3]]);
    expect(fromPort).toBe(Number(a.localAddr.split(':')[1]));
    removeSecond();
    const third = new Promise<void>((resolve) => raw.onRawDatagram(() => resolve()));
    a.sendRawDatagram(Uint8Array.of(0x02), host, port);
    await third;
    expect(second).toEqual([[1, 2, 3]]);
    expect(() => a.sendRawDatagram(Uint8Array.of(0x40), host, port)).toThrow(/0x40/);
  });

  it('declares every capability, each implemented by the transport itself', () => {
    const t = node();
    for (const name of ['connectionControl', 'datagrams', 'relayedPaths', 'rawDatagrams', 'streams', 'drainingDisconnect'] as const) {
      expect(capability(t, name), name).toBe(t);
    }
  });

  it('moves bulk data over a raw byte stream', async () => {
    const a = node();
    const b = node();
    await a.start(echoHandlers());
    await b.start(echoHandlers());
    b.onStream((s) => {
      let n = 0;
      let sum = 0;
      s.ondata = (chunk) => {
        n += chunk.length;
        for (const x of chunk) sum = (sum + x) % 65521;
      };
      s.onend = () => {
        s.write(new TextEncoder().encode(`${n}:${sum}`));
        s.end();
      };
    });
    const s = await a.openStream({ addr: b.localAddr });
    const total = 3 * 1024 * 1024 + 17;
    const chunk = new Uint8Array(64 * 1024).map((_, i) => i & 0xff);
    let expectedSum = 0;
    const answer = new Promise<string>((resolve, reject) => {
      const parts: Uint8Array[] = [];
      s.ondata = (c) => parts.push(c);
      s.onend = () => resolve(Buffer.concat(parts).toString());
      s.onerror = reject;
    });
    let sent = 0;
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (sent < total) {
          const part = chunk.subarray(0, Math.min(chunk.length, total - sent));
          for (const x of part) expectedSum = (expectedSum + x) % 65521;
          sent += part.length;
          if (!s.write(part)) {
            s.ondrain = pump;
            return;
          }
        }
        resolve();
      };
      pump();
    });
    s.end();
    expect(await answer).toBe(`${total}:${expectedSum}`);
  });

  it('leaves no socket or timer behind after close()', async () => {
    const countHandles = (): { udp: number; timers: number } => {
      const hs = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles();
      return {
        udp: hs.filter((h) => h instanceof dgram.Socket).length,
        timers: hs.filter((h) => h.constructor.name === 'Timeout').length,
      };
    };
    const before = countHandles();
    // Our timers are unref'd (invisible to _getActiveHandles): count them through the clock.
    const clock = new CountingClock();
    const a = node({ components: { clock } });
    const b = node({ components: { clock } });
    await a.start(echoHandlers());
    await b.start({ onRequest: () => new Promise<Response>(() => {}) });
    await a.request({ addr: b.localAddr }, ping(a), { timeoutMs: 100 }).catch(() => undefined);
    const pending = a.request({ addr: b.localAddr }, ping(a), { timeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(countHandles().udp).toBe(before.udp + 2);
    await a.close();
    await b.close();
    expect(await pending).toBeInstanceOf(TransportError);
    expect(countHandles()).toEqual(before);
    expect(clock.live).toBe(0);
    expect(clock.created).toBeGreaterThan(0);
  });
});
