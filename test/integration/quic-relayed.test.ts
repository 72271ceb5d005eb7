/**
 * Connections over a relay and their migration to a direct path, on real QUIC over 127.0.0.1.
 * A third transport plays a bare relay: it forwards relay frames (DATAGRAM frames of its links)
 * between two members of one session. A opens a relayed path, dials B over it, streams data, and
 * migrates the connection to B's real address mid-stream: every byte arrives, in order, once.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { bytesEqual } from '../../src/core/bytes.js';
import { Keypair } from '../../src/identity/keypair.js';
import { decodeRelayFrame, encodeRelayFrame } from '../../src/nat/relay/relay-datagram.js';
import { QuicTransport, type QuicByteStream } from '../../src/transport/quic/index.js';
import type { ConnectionChange } from '../../src/transport/paths.js';
import type { PeerInfo, TransportHandlers } from '../../src/transport/transport.js';
import type { Request, Response } from '../../src/wire/messages.js';

const open: QuicTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

const handlers: TransportHandlers = {
  onRequest(peer: PeerInfo, msg: Request): Response {
    if (msg.type === 'WhatIsMyAddr') return { type: 'YourAddr', addr: peer.addr };
    return { type: 'Ack', rejection: null };
  },
};

async function started(): Promise<QuicTransport> {
  const t = new QuicTransport({ keypair: Keypair.generate() });
  open.push(t);
  await t.start(handlers);
  return t;
}

const ping = (t: QuicTransport): Request => ({ type: 'Ping', from: { id: t.localNodeId, addr: t.localAddr } });

interface RelayStats {
  forwarded: number;
  down: boolean;
  /** Called after each forwarded frame. */
  onForward?: () => void;
}

/** A relay that forwards frames of session `sid` between `a` and `b` (by their link's NodeId); `down` drops all. */
function bareRelay(relay: QuicTransport, a: QuicTransport, b: QuicTransport): RelayStats {
  const stats: RelayStats = { forwarded: 0, down: false };
  relay.onDatagram((peer, data) => {
    if (stats.down) return;
    const to = bytesEqual(peer.nodeId, a.localNodeId) ? b : bytesEqual(peer.nodeId, b.localNodeId) ? a : undefined;
    if (to && relay.sendDatagram(to.localNodeId, data)) {
      stats.forwarded++;
      stats.onForward?.();
    }
  });
  return stats;
}

/** Resolves once the relay has forwarded more than `count` frames. */
function forwardedBeyond(stats: RelayStats, count: number): Promise<void> {
  return new Promise((resolve) => {
    if (stats.forwarded > count) return resolve();
    stats.onForward = () => {
      if (stats.forwarded <= count) return;
      stats.onForward = undefined;
      resolve();
    };
  });
}

/** 1000 bytes, different for every `i`. */
const chunk = (i: number): Uint8Array => Uint8Array.from({ length: 1000 }, (_, j) => (i * 31 + j) & 255);

/** `received` holds chunks 0 … n-1, in order, nothing more. */
function expectChunks(received: Uint8Array[], n: number): void {
  const all = Buffer.concat(received);
  expect(all.length).toBe(n * 1000);
  for (let i = 0; i < n; i++) expect(bytesEqual(all.subarray(i * 1000, (i + 1) * 1000), chunk(i)), `chunk ${i}`).toBe(true);
}

/** A relayed path on `t` for session `sid` through `relay`, fed by `relay`'s frames for that session. */
function relayedPath(t: QuicTransport, relay: QuicTransport, sid: Uint8Array) {
  const path = t.openRelayedPath({ send: (packet) => t.sendDatagram(relay.localNodeId, encodeRelayFrame(sid, packet)) });
  t.onDatagram((peer, data) => {
    if (!bytesEqual(peer.nodeId, relay.localNodeId)) return;
    const f = decodeRelayFrame(data);
    if (bytesEqual(f.sessionId, sid)) path.deliver(Uint8Array.from(f.packet));
  });
  return path;
}

/**
 * A, B and a bare relay; both linked to it (as nodes behind NAT are), a relayed path for one
 * session on each side, and B collecting the bytes of the raw stream A will open.
 */
async function relayedSetup() {
  const [a, b, relay] = [await started(), await started(), await started()];
  await a.connect({ addr: relay.localAddr, nodeId: relay.localNodeId });
  await b.connect({ addr: relay.localAddr, nodeId: relay.localNodeId });
  const stats = bareRelay(relay, a, b);
  const sid = Uint8Array.from([7, 7, 7, 7]);
  const pathA = relayedPath(a, relay, sid);
  relayedPath(b, relay, sid);
  const received: Uint8Array[] = [];
  let ended!: () => void;
  const allIn = new Promise<void>((r) => (ended = r));
  b.onStream((s: QuicByteStream) => {
    s.ondata = (c) => received.push(Uint8Array.from(c));
    s.onend = () => ended();
  });
  return { a, b, relay, stats, pathA, received, allIn };
}

function waitFor<T>(what: string, register: (done: (v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 10_000);
    register((v) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}

describe('QUIC datagrams, relayed paths and migration', () => {
  it('carries DATAGRAM frames between verified peers', async () => {
    const [a, b] = [await started(), await started()];
    await a.connect({ addr: b.localAddr, nodeId: b.localNodeId });
    const got = waitFor<{ peer: PeerInfo; data: Uint8Array }>('a datagram', (done) => b.onDatagram((peer, data) => done({ peer, data })));
    expect(a.sendDatagram(b.localNodeId, new TextEncoder().encode('hello'))).toBe(true);
    const { peer, data } = await got;
    expect(bytesEqual(peer.nodeId, a.localNodeId)).toBe(true);
    expect(new TextDecoder().decode(data)).toBe('hello');
    expect(a.sendDatagram(b.localNodeId, new Uint8Array(5_000))).toBe(false); // larger than a packet
    expect(a.sendDatagram(Keypair.generate().nodeId, new Uint8Array(1))).toBe(false); // nobody there
  });

  it('opens a connection through a relay, then migrates it to the direct path without losing stream data', async () => {
    const { a, b, stats, pathA, received, allIn } = await relayedSetup();
    const bChanges: ConnectionChange[] = [];
    b.onConnectionChange((c) => bChanges.push(c));

    const peer = await a.connect({ addr: pathA.addr, nodeId: b.localNodeId });
    expect(bytesEqual(peer.nodeId, b.localNodeId)).toBe(true);
    expect(a.pathInfo(b.localNodeId)).toMatchObject({ relayed: true, opener: true, addr: pathA.addr });
    expect((await a.request({ addr: pathA.addr, nodeId: b.localNodeId }, ping(a))).msg.type).toBe('Ack');
    expect(stats.forwarded).toBeGreaterThan(0);

    const stream = await a.openStream({ addr: pathA.addr, nodeId: b.localNodeId });
    for (let i = 0; i < 200; i++) stream.write(chunk(i));
    await a.migrate(b.localNodeId, b.localAddr);
    expect(a.pathInfo(b.localNodeId)).toMatchObject({ relayed: false, addr: b.localAddr });
    const forwardedAtMigration = stats.forwarded;
    for (let i = 200; i < 400; i++) stream.write(chunk(i));
    stream.end();
    await allIn;

    expectChunks(received, 400);
    // B saw the connection arrive relayed and move to A's real address
    expect(bChanges.find((c) => c.kind === 'ready')).toMatchObject({ relayed: true, opener: false });
    expect(bChanges.find((c) => c.kind === 'moved')).toMatchObject({ relayed: false, addr: a.localAddr });
    // after the switch the data went direct (a few late packets may still have crossed the relay)
    expect(stats.forwarded - forwardedAtMigration).toBeLessThan(50);
    expect((await b.request({ addr: a.localAddr, nodeId: a.localNodeId }, ping(b))).msg.type).toBe('Ack');
  });

  it('migrates off a relayed path that died under a stream, and the data sent into it still arrives', async () => {
    const { a, b, stats, pathA, received, allIn } = await relayedSetup();
    await a.connect({ addr: pathA.addr, nodeId: b.localNodeId });
    // one exchange first: b's spare connection IDs (a new path needs one) ride on its answer
    await a.request({ addr: pathA.addr, nodeId: b.localNodeId }, ping(a));
    const stream = await a.openStream({ addr: pathA.addr, nodeId: b.localNodeId });
    const before = stats.forwarded;
    for (let i = 0; i < 50; i++) stream.write(chunk(i));
    // the relay dies with data in flight on its path (some of it has crossed); more is written into the dead path
    await forwardedBeyond(stats, before);
    stats.down = true;
    for (let i = 50; i < 150; i++) stream.write(chunk(i));
    await a.migrate(b.localNodeId, b.localAddr);
    for (let i = 150; i < 200; i++) stream.write(chunk(i));
    stream.end();
    await allIn;
    expectChunks(received, 200);
  });

  it('disconnectAndDrain resolves once the closed connections are released', async () => {
    const [a, b] = [await started(), await started()];
    // an exchange first: quiche sends no CONNECTION_CLOSE before the handshake is confirmed
    await a.request({ addr: b.localAddr, nodeId: b.localNodeId }, ping(a));
    expect(await a.disconnectAndDrain(b.localNodeId)).toBe(true);
    expect(a.connectionCount).toBe(0);
    expect(a.pathInfo(b.localNodeId)).toBeUndefined();
    expect(await a.disconnectAndDrain(b.localNodeId)).toBe(true); // nothing left: at once
  });

  it('disconnect also ends a dial still in its handshake: the next dial starts a new one', async () => {
    const a = await started();
    const b = Keypair.generate(); // nobody answers for it: the sink only listens
    const sink = dgram.createSocket('udp4');
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
    const dcids = new Set<string>();
    const firstSeen = new Promise<void>((r) => sink.on('message', (m) => {
      // long header: flags, version (4), DCID length, DCID
      if ((m[0]! & 0x80) !== 0) dcids.add(m.subarray(6, 6 + m[5]!).toString('hex'));
      r();
    }));
    const target = { addr: `127.0.0.1:${(sink.address() as { port: number }).port}`, nodeId: b.nodeId };
    const first = a.connect(target, { timeoutMs: 10_000 });
    await firstSeen;
    expect(await a.disconnectAndDrain(b.nodeId)).toBe(true);
    await expect(first).rejects.toThrow(/disconnected/);
    expect(a.connectionCount).toBe(0);
    const secondSeen = new Promise<void>((r) => sink.on('message', () => dcids.size >= 2 && r()));
    const second = a.connect(target, { timeoutMs: 10_000 });
    second.catch(() => undefined);
    await secondSeen;
    expect(dcids.size).toBe(2);
    a.disconnect(b.nodeId);
    sink.close();
  });

  it('refuses to migrate a connection from the side that did not open it', async () => {
    const [a, b] = [await started(), await started()];
    const bReady = waitFor('b ready', (done) => b.onConnectionChange((c) => c.kind === 'ready' && done(c)));
    await a.connect({ addr: b.localAddr, nodeId: b.localNodeId });
    await bReady;
    await expect(b.migrate(a.localNodeId, a.localAddr)).rejects.toThrow(/only the side that opened/);
  });

  it('fails a migration whose path is never validated', async () => {
    const [a, b] = [await started(), await started()];
    await a.connect({ addr: b.localAddr, nodeId: b.localNodeId });
    const sink = await started(); // answers nothing for this connection's IDs
    await expect(a.migrate(b.localNodeId, sink.localAddr, { timeoutMs: 300 })).rejects.toThrow(/not validated/);
    expect((await a.request({ addr: b.localAddr, nodeId: b.localNodeId }, ping(a))).msg.type).toBe('Ack');
  });
});
