import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { ManualClock } from '../../src/core/clock.js';
import { settle } from '../support/virtual-time.js';
import type { Components } from '../../src/core/components.js';
import { LineLogger, silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import { ConfigError, RemoteError, TimeoutError } from '../../src/errors.js';
import { Keypair } from '../../src/identity/keypair.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import { PromMetrics } from '../../src/metrics/prom.js';
import { MeshNode } from '../../src/node/mesh-node.js';
import { createNode } from '../../src/node/create-node.js';
import { MemoryNetwork } from '../../src/transport/memory/index.js';
import type { PeerInfo } from '../../src/transport/transport.js';
import type { Request, Response } from '../../src/wire/messages.js';

let seed = 100;
function keypair(): Keypair {
  const s = new Uint8Array(32);
  new DataView(s.buffer).setUint32(0, seed++);
  return Keypair.generate(s);
}

interface Fixture {
  clock: ManualClock;
  net: MemoryNetwork;
  logs: string[];
  make(opts?: { metrics?: PromMetrics }): MeshNode;
}

function fixture(): Fixture {
  const clock = new ManualClock(1_000);
  const net = new MemoryNetwork({ clock, rng: new SeededRng(3), latencyMs: () => 5, defaultTimeoutMs: 500 });
  const logs: string[] = [];
  const logger = new LineLogger({ level: 'debug', write: (l) => logs.push(l), clock });
  return {
    clock,
    net,
    logs,
    make(opts = {}) {
      const kp = keypair();
      const transport = net.createTransport({ nodeId: kp.nodeId, publicKey: kp.publicKeyBytes() });
      const components: Components = { clock, rng: new SeededRng(seed), logger, metrics: opts.metrics ?? noopMetrics };
      return new MeshNode({ keypair: kp, transport, components });
    },
  };
}

function peerOf(node: MeshNode, addr = '203.0.113.9:5555'): PeerInfo {
  return { nodeId: node.nodeId, publicKey: node.keypair.publicKeyBytes(), addr };
}

describe('MeshNode dispatch (no socket)', () => {
  it('answers the built-in Ping and WhatIsMyAddr', () => {
    const f = fixture();
    const node = f.make();
    const other = f.make();
    const from = { id: other.nodeId, addr: '10.0.0.99:1' };
    expect(node.dispatch(peerOf(other), { type: 'Ping', from })).toEqual({ type: 'Ack', rejection: null });
    expect(node.dispatch(peerOf(other, '198.51.100.4:40000'), { type: 'WhatIsMyAddr', from })).toEqual({
      type: 'YourAddr',
      addr: '198.51.100.4:40000',
    });
  });

  it('refuses a request whose from.id is not the authenticated peer, and counts it', async () => {
    const metrics = new PromMetrics();
    const f = fixture();
    const node = f.make({ metrics });
    const honest = f.make();
    const victim = f.make();
    const res = node.dispatch(peerOf(honest), { type: 'Ping', from: { id: victim.nodeId, addr: '10.0.0.1:1' } });
    expect(res).toMatchObject({ type: 'Error', code: 'IdentityMismatch' });
    expect(node.status().identityMismatches).toBe(1);
    const text = await metrics.metricsText();
    expect(text).toContain('quicmesh_identity_mismatch_total 1');
    expect(text).toContain('quicmesh_requests_served_total{type="Ping",result="identity_mismatch"} 1');
    expect(f.logs.some((l) => l.includes('identity mismatch'))).toBe(true);
  });

  it('replies Unsupported without a handler and Internal when one throws', async () => {
    const f = fixture();
    const node = f.make();
    const peer = f.make();
    const from = { id: peer.nodeId, addr: '10.0.0.1:1' };
    const findNode: Request = { type: 'FindNode', from, target: new Uint8Array(32) };
    expect(node.dispatch(peerOf(peer), findNode)).toMatchObject({ type: 'Error', code: 'Unsupported' });

    node.handle('FindNode', () => {
      throw new Error('routing table on fire');
    });
    expect(node.dispatch(peerOf(peer), findNode)).toEqual({
      type: 'Error',
      code: 'Internal',
      message: 'routing table on fire',
    });
    node.handle('Store', async () => {
      throw new Error('disk full');
    });
    const store: Request = { type: 'Store', from, key: new Uint8Array(32), value: new Uint8Array(1), kind: 'content' };
    await expect(node.dispatch(peerOf(peer), store)).resolves.toMatchObject({ type: 'Error', code: 'Internal' });
    expect(f.logs.filter((l) => l.includes('request handler failed'))).toHaveLength(2);
    expect(node.status().requestsServed).toEqual({ FindNode: 2, Store: 1 });
  });

  it('passes typed requests to handlers and allows one handler per type', () => {
    const f = fixture();
    const node = f.make();
    const peer = f.make();
    const targets: string[] = [];
    node.handle('FindNode', (_p, msg) => {
      targets.push(toHex(msg.target)); // msg is typed as FindNode
      return { type: 'Nodes', nodes: [] };
    });
    const res = node.dispatch(peerOf(peer), {
      type: 'FindNode',
      from: { id: peer.nodeId, addr: '10.0.0.1:1' },
      target: new Uint8Array(32).fill(1),
    });
    expect(res).toEqual({ type: 'Nodes', nodes: [] });
    expect(targets).toEqual(['01'.repeat(32)]);
    expect(() => node.handle('FindNode', () => ({ type: 'Nodes', nodes: [] }))).toThrow(ConfigError);
    // A built-in may be replaced once by a service.
    node.handle('Ping', () => ({ type: 'Ack', rejection: 'Pressure' }));
    expect(node.dispatch(peerOf(peer), { type: 'Ping', from: { id: peer.nodeId, addr: 'x:1' } })).toEqual({
      type: 'Ack',
      rejection: 'Pressure',
    });
    expect(() => node.handle('Ping', () => ({ type: 'Ack', rejection: null }))).toThrow(ConfigError);
  });

  it('routes notifications by type and survives a throwing notify handler', () => {
    const f = fixture();
    const node = f.make();
    const peer = f.make();
    const topics: string[] = [];
    node.onNotify('IHave', (_p, msg) => void topics.push(msg.topic));
    node.onNotify('Graft', () => {
      throw new Error('bad graft');
    });
    const from = { id: peer.nodeId, addr: '10.0.0.1:1' };
    node.dispatchNotify(peerOf(peer), { type: 'IHave', from, topic: 'lobby', ids: [] });
    node.dispatchNotify(peerOf(peer), { type: 'Graft', from, topic: 'lobby' });
    node.dispatchNotify(peerOf(peer), { type: 'Prune', from, topic: 'lobby', peers: [], backoffMs: 1 });
    expect(topics).toEqual(['lobby']);
    expect(f.logs.some((l) => l.includes('notify handler failed'))).toBe(true);
    expect(() => node.onNotify('IHave', () => {})).toThrow(ConfigError);
  });
});

describe('MeshNode over the memory transport', () => {
  it('requests, records metrics, and throws an Error reply as RemoteError', async () => {
    const f = fixture();
    const metrics = new PromMetrics();
    const a = f.make({ metrics });
    const b = f.make();
    await a.start();
    await b.start();
    b.handle('FindValue', () => ({ type: 'Error', code: 'BadRequest', message: 'no such key' }));

    const reply = await settle(f.clock, a.request({ addr: b.contact.addr, nodeId: b.nodeId }, { type: 'Ping', from: a.contact }));
    expect(reply.msg).toEqual({ type: 'Ack', rejection: null });
    expect(reply.from.nodeId).toEqual(b.nodeId);

    const failing = a.request({ addr: b.contact.addr }, { type: 'FindValue', from: a.contact, key: new Uint8Array(32) });
    const err = await settle(f.clock, failing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).code).toBe('BadRequest');

    await b.stop();
    const timedOut = await settle(f.clock, a.request({ addr: b.contact.addr }, { type: 'Ping', from: a.contact })).catch(
      (e: unknown) => e,
    );
    expect(timedOut).toBeInstanceOf(TimeoutError);

    const text = await metrics.metricsText();
    expect(text).toContain('quicmesh_requests_total{type="Ping",result="ok"} 1');
    expect(text).toContain('quicmesh_requests_total{type="FindValue",result="remote_error"} 1');
    expect(text).toContain('quicmesh_requests_total{type="Ping",result="timeout"} 1');
    // 5 ms each way in virtual time: the round trip lands in the 0.01 s bucket, not the 0.005 one.
    expect(text).toContain('quicmesh_request_duration_seconds_bucket{le="0.005",type="Ping"} 0');
    expect(text).toContain('quicmesh_request_duration_seconds_bucket{le="0.01",type="Ping"} 1');
    expect(text).toContain('quicmesh_peers_seen 1');
    expect(a.status().requestsSent).toEqual({ Ping: 2, FindValue: 1 });
  });

  it('lets a spoofing peer learn nothing but IdentityMismatch', async () => {
    const f = fixture();
    const a = f.make();
    const mallory = f.make();
    const victim = f.make();
    await a.start();
    await mallory.start();
    const spoofed: Request = { type: 'Ping', from: { id: victim.nodeId, addr: mallory.contact.addr } };
    const err = await settle(f.clock, mallory.request({ addr: a.contact.addr }, spoofed)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).code).toBe('IdentityMismatch');
    expect(a.status().identityMismatches).toBe(1);
  });

  it('reports status with uptime, peers and provider sections', async () => {
    const f = fixture();
    const a = f.make();
    const b = f.make();
    const c = f.make();
    expect(a.status()).toMatchObject({ startedAt: null, uptimeMs: 0, addr: '' });
    await Promise.all([a.start(), b.start(), c.start()]);
    const remove = a.addStatusProvider('dht', () => ({ k: 20, alpha: 3 }));
    a.addStatusProvider('broken', () => {
      throw new Error('not ready');
    });
    for (const peer of [b, c, b]) {
      await settle(f.clock, peer.request({ addr: a.contact.addr }, { type: 'WhatIsMyAddr', from: peer.contact }));
    }
    f.clock.advance(1000);
    const s = a.status();
    expect(s.nodeId).toBe(toHex(a.nodeId));
    expect(s.addr).toBe(a.contact.addr);
    expect(s.startedAt).toBe(1000);
    expect(s.uptimeMs).toBe(f.clock.now() - 1000);
    expect(s.uptimeMs).toBeGreaterThanOrEqual(1000);
    expect(s.peersSeen).toBe(2);
    expect(s.requestsServed).toEqual({ WhatIsMyAddr: 3 });
    expect(s.extra).toEqual({ dht: { k: 20, alpha: 3 }, broken: { error: 'not ready' } });
    remove();
    expect(Object.keys(a.status().extra)).toEqual(['broken']);
    await a.stop();
    await a.stop();
    expect(a.isRunning).toBe(false);
  });

  it('is attachable through the structural service surface', async () => {
    // What the DHT relies on: contact, handle, request.
    const f = fixture();
    const a = f.make();
    const b = f.make();
    const service = (mesh: Pick<MeshNode, 'contact' | 'handle' | 'request'>) => {
      mesh.handle('FindNode', (_p, msg) => ({ type: 'Nodes', nodes: [{ id: msg.target, addr: mesh.contact.addr }] }));
    };
    service(b);
    await a.start();
    await b.start();
    const target = new Uint8Array(32).fill(4);
    const reply = await settle(f.clock, a.request({ addr: b.contact.addr }, { type: 'FindNode', from: a.contact, target }));
    const res: Response = reply.msg;
    expect(res).toEqual({ type: 'Nodes', nodes: [{ id: target, addr: b.contact.addr }] });
  });

  it('builds an assembly whose interim bootstrap pings each address', async () => {
    const f = fixture();
    const b = f.make();
    await b.start();
    const kp = keypair();
    const transport = f.net.createTransport({ nodeId: kp.nodeId, publicKey: kp.publicKeyBytes() });
    const assembly = createNode({
      keypair: kp,
      transport,
      components: { clock: f.clock, rng: new SeededRng(1), logger: silentLogger, metrics: noopMetrics },
      bootstrap: [b.contact.addr, '10.255.255.255:1'],
    });
    await assembly.start();
    const results = await settle(f.clock, assembly.bootstrap());
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({ addr: b.contact.addr, ok: true, nodeId: toHex(b.nodeId), rttMs: 10 });
    expect(results[1]).toMatchObject({ addr: '10.255.255.255:1', ok: false });
    expect(results[1]!.error).toContain('TimeoutError');
    await assembly.stop();
    expect(assembly.meshNode.isRunning).toBe(false);
  });
});
