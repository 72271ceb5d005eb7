/**
 * The node control endpoint (POST /connect) mounted on the status server, with nodes on the memory
 * transport: a connect to the right NodeId succeeds over a direct path, a wrong NodeId is an identity
 * error, an unreachable address times out, and malformed bodies are 400s naming the field.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { SystemClock } from '../../src/core/clock.js';
import type { Components } from '../../src/core/components.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import { Keypair } from '../../src/identity/keypair.js';
import { startStatusServer, type StatusServer } from '../../src/metrics/http.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import { PromMetrics } from '../../src/metrics/prom.js';
import { controlRoutes, parseConnectRequest, parseStreamRequest } from '../../src/node/control.js';
import { MeshNode } from '../../src/node/mesh-node.js';
import { probePeer } from '../../src/traversal/probe.js';
import { MemoryNetwork } from '../../src/transport/memory/index.js';

const clock = new SystemClock();
const net = new MemoryNetwork({ clock, rng: new SeededRng(7), latencyMs: () => 1, defaultTimeoutMs: 2_000 });
let seed = 500;
const nodes: MeshNode[] = [];
const servers: StatusServer[] = [];

async function startNode(): Promise<MeshNode> {
  const s = new Uint8Array(32);
  new DataView(s.buffer).setUint32(0, seed++);
  const kp = Keypair.generate(s);
  const transport = net.createTransport({ nodeId: kp.nodeId, publicKey: kp.publicKeyBytes() });
  const components: Components = {
    clock,
    rng: new SeededRng(seed),
    logger: silentLogger,
    metrics: noopMetrics,
  };
  const node = new MeshNode({ keypair: kp, transport, components });
  await node.start();
  nodes.push(node);
  return node;
}

async function serve(node: MeshNode): Promise<StatusServer> {
  const server = await startStatusServer({
    host: '127.0.0.1',
    port: 0,
    metrics: new PromMetrics(),
    status: () => node.status(),
    routes: controlRoutes(node),
  });
  servers.push(server);
  return server;
}

async function post(url: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

describe('POST /connect', () => {
  it('connects directly to the expected node and reports the time and RTT', async () => {
    const a = await startNode();
    const b = await startNode();
    const server = await serve(a);
    const { status, json } = await post(
      `${server.url}/connect`,
      JSON.stringify({ addr: b.contact.addr, nodeId: toHex(b.nodeId), fresh: true, timeoutMs: 1000 }),
    );
    expect(status).toBe(200);
    expect(json).toMatchObject({ connected: true, path: 'direct' });
    expect(json.timeToConnectMs).toBeTypeOf('number');
    expect(json.rttMs).toBeTypeOf('number');
    expect(json.error).toBeUndefined();
    // b saw a's two pings (connect + RTT): the exchange really happened
    expect(b.status().requestsServed.Ping).toBe(2);
  });

  it('reports an identity error when another node answers at the address', async () => {
    const a = await startNode();
    const b = await startNode();
    const stranger = Keypair.generate(new Uint8Array(32).fill(9));
    const server = await serve(a);
    const { status, json } = await post(
      `${server.url}/connect`,
      JSON.stringify({ addr: b.contact.addr, nodeId: toHex(stranger.nodeId) }),
    );
    expect(status).toBe(200);
    expect(json).toMatchObject({ connected: false, path: null, timeToConnectMs: null });
    expect(json.error).toMatch(/^IdentityError: expected node/);
  });

  it('reports a timeout for an address nobody answers', async () => {
    const a = await startNode();
    const b = await startNode();
    net.setReachable(b.contact.addr, false);
    const server = await serve(a);
    const { json } = await post(
      `${server.url}/connect`,
      JSON.stringify({ addr: b.contact.addr, nodeId: toHex(b.nodeId), timeoutMs: 50 }),
    );
    expect(json).toMatchObject({ connected: false, path: null });
    expect(json.error).toMatch(/^TimeoutError: /);
    net.setReachable(b.contact.addr, true);
  });

  it('answers 400 naming the bad field, 405 for GET, and still serves /status', async () => {
    const a = await startNode();
    const server = await serve(a);
    const id = toHex(a.nodeId);
    const cases: Array<[string, RegExp]> = [
      ['not json', /^body: expected a JSON object/],
      ['[1]', /^body: expected a JSON object/],
      [JSON.stringify({ addr: 'nohost', nodeId: id }), /^addr: /],
      [JSON.stringify({ addr: '1.2.3.4:0', nodeId: id }), /^addr: .*1-65535/],
      [JSON.stringify({ addr: '1.2.3.4:5', nodeId: 'abc' }), /^nodeId: expected 64 hex digits/],
      [JSON.stringify({ addr: '1.2.3.4:5', nodeId: id, fresh: 'yes' }), /^fresh: /],
      [JSON.stringify({ addr: '1.2.3.4:5', nodeId: id, timeoutMs: -1 }), /^timeoutMs: /],
      [JSON.stringify({ addr: '1.2.3.4:5', nodeId: id, extra: 1 }), /^extra: unknown field/],
    ];
    for (const [body, error] of cases) {
      const { status, json } = await post(`${server.url}/connect`, body);
      expect(status, body).toBe(400);
      expect(json.error, body).toMatch(error);
    }
    const get = await fetch(`${server.url}/connect`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    await get.text();
    const st = (await (await fetch(`${server.url}/status`)).json()) as Record<string, unknown>;
    expect(st).toMatchObject({ nodeId: id, addr: a.contact.addr, peersSeen: 0 });
  });

  it('refuses a body over the size limit with 413', async () => {
    const a = await startNode();
    const server = await serve(a);
    const { status, json } = await post(`${server.url}/connect`, 'x'.repeat(70 * 1024));
    expect(status).toBe(413);
    expect(json.error).toMatch(/request body over/);
  });
});

describe('probePeer', () => {
  it('with fresh: true drops the connection to the peer first', async () => {
    const a = await startNode();
    const b = await startNode();
    const dropped: string[] = [];
    const transport = a.transport as unknown as { disconnect(id: Uint8Array): void };
    const original = transport.disconnect.bind(transport);
    transport.disconnect = (id) => {
      dropped.push(toHex(id));
      original(id);
    };
    const res = await probePeer(a, { addr: b.contact.addr, nodeId: b.nodeId }, { fresh: true });
    expect(res.connected).toBe(true);
    expect(dropped).toEqual([toHex(b.nodeId)]);
    await probePeer(a, { addr: b.contact.addr, nodeId: b.nodeId });
    expect(dropped).toHaveLength(1);
  });

  it('parseConnectRequest keeps the optional fields only when given', () => {
    const id = 'AB'.repeat(32);
    expect(parseConnectRequest(JSON.stringify({ addr: '[::1]:4433', nodeId: id }))).toEqual({
      addr: '[::1]:4433',
      nodeId: id.toLowerCase(),
    });
    expect(
      parseConnectRequest(JSON.stringify({ addr: 'h:1', nodeId: id, fresh: false, timeoutMs: 10 })),
    ).toEqual({
      addr: 'h:1',
      nodeId: id.toLowerCase(),
      fresh: false,
      timeoutMs: 10,
    });
  });
});

describe('POST /stream', () => {
  it('parses {addr, nodeId, durationMs, rateKbps?} and names a bad field', () => {
    const nodeId = 'ab'.repeat(32);
    expect(parseStreamRequest(JSON.stringify({ addr: '10.0.0.1:4433', nodeId, durationMs: 500 }))).toEqual({ addr: '10.0.0.1:4433', nodeId, durationMs: 500 });
    expect(parseStreamRequest(JSON.stringify({ addr: '10.0.0.1:4433', nodeId, durationMs: 500, rateKbps: 64 }))).toMatchObject({ rateKbps: 64 });
    const cases: Array<[unknown, RegExp]> = [
      ['nope', /^body: /],
      [{ addr: 'x', nodeId, durationMs: 1 }, /^addr: /],
      [{ addr: '10.0.0.1:4433', nodeId: 'z', durationMs: 1 }, /^nodeId: /],
      [{ addr: '10.0.0.1:4433', nodeId, durationMs: 0 }, /^durationMs: /],
      [{ addr: '10.0.0.1:4433', nodeId, durationMs: 1, rateKbps: -5 }, /^rateKbps: /],
      [{ addr: '10.0.0.1:4433', nodeId, durationMs: 1, extra: true }, /^extra: unknown field/],
    ];
    for (const [body, error] of cases) expect(parseStreamRequest(typeof body === 'string' ? body : JSON.stringify(body))).toMatch(error);
  });

  it('answers 501 on a transport without raw streams', async () => {
    const a = await startNode();
    const b = await startNode();
    const server = await serve(a);
    const { status, json } = await post(`${server.url}/stream`, JSON.stringify({ addr: b.contact.addr, nodeId: toHex(b.nodeId), durationMs: 10 }));
    expect(status).toBe(501);
    expect(json.error).toMatch(/no raw streams/);
  });
});
