/**
 * NAT detection between real MeshNodes on the memory transport (every message through the wire
 * codec): a client runs startNatServices({detect}) against a NAT test server and its partner
 * (NatTestServer on MeshNodes); raw datagrams travel on a small in-test bus. No NAT in between,
 * so the report must say None with open filtering, and the node's status and metrics must show it.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import type { Components } from '../../src/core/components.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import { ConfigError } from '../../src/errors.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import { PromMetrics } from '../../src/metrics/prom.js';
import { splitAddr } from '../../src/nat/addr.js';
import { NatTestServer } from '../../src/traversal/nat-test-server.js';
import { parseNatServers } from '../../src/nat/nat-servers.js';
import { localAddrsOf, startNatServices } from '../../src/traversal/nat-service.js';
import { MeshNode } from '../../src/node/mesh-node.js';
import { seededKeypairs, settle } from '../support/virtual-time.js';
import { withCapabilities } from '../support/memory-nat.js';
import { MemoryNetwork } from '../../src/transport/memory/index.js';

const CLIENT = '10.0.0.2:4433';
const SERVER = '198.51.100.2:4433';
const PARTNER = '198.51.100.3:4433';

const keys = seededKeypairs(500);
const keypair = () => keys.next();

type Listener = (data: Uint8Array, from: { host: string; port: number }) => void;

function world() {
  const clock = new ManualClock(1_000);
  const net = new MemoryNetwork({ clock, rng: new SeededRng(3), latencyMs: () => 5, defaultTimeoutMs: 2_000 });
  /** Raw datagrams: listeners by destination address; one-ms delivery. */
  const rawAt = new Map<string, Set<Listener>>();
  const rawSend = (from: string, bytes: Uint8Array, host: string, port: number): void => {
    clock.setTimer(1, () => {
      const { host: fh, port: fp } = splitAddr(from);
      for (const l of rawAt.get(`${host}:${port}`) ?? []) l(Buffer.from(bytes), { host: fh, port: fp });
    });
  };
  const node = (addr: string, metrics = noopMetrics): MeshNode => {
    const kp = keypair();
    const base = net.createTransport({ nodeId: kp.nodeId, publicKey: kp.publicKeyBytes(), addr });
    // the memory transport plus the raw datagrams QuicTransport has
    const transport = withCapabilities(base, {
      rawDatagrams: {
        sendRawDatagram: (bytes, host, port) => rawSend(addr, bytes, host, port),
        onRawDatagram: (cb) => {
          const set = rawAt.get(addr) ?? new Set<Listener>();
          rawAt.set(addr, set);
          set.add(cb);
          return () => set.delete(cb);
        },
      },
    });
    const components: Components = { clock, rng: new SeededRng(keys.seed), logger: silentLogger, metrics };
    return new MeshNode({ keypair: kp, transport, components });
  };
  const natServer = (mesh: MeshNode, addr: string, partner: string): NatTestServer => {
    const { host, port } = splitAddr(addr);
    const alt = `${host}:${port + 1}`;
    const reply = `${host}:${port + 2}`;
    const srv = new NatTestServer({
      node: mesh,
      sendRaw: (b, h, p) => rawSend(addr, b, h, p),
      altSocket: {
        localAddr: alt,
        send: (b, h, p) => rawSend(alt, b, h, p),
        onDatagram: (cb) => rawAt.set(alt, new Set([(d, f) => cb(d, `${f.host}:${f.port}`)])),
        close: async () => {},
      },
      replySocket: { localAddr: reply, send: (b, h, p) => rawSend(reply, b, h, p) },
      partner,
      components: { logger: silentLogger },
    });
    srv.start();
    return srv;
  };
  return { clock, node, natServer };
}

describe('startNatServices({detect}) over the memory transport', () => {
  it('reports None / open filtering in status().extra.nat and quicmesh_nat_type, keeping the node\'s own nat fields', async () => {
    const w = world();
    const server = w.node(SERVER);
    const partner = w.node(PARTNER);
    const metrics = new PromMetrics();
    const client = w.node(CLIENT, metrics);
    await Promise.all([server.start(), partner.start(), client.start()]);
    const s1 = w.natServer(server, SERVER, PARTNER);
    const s2 = w.natServer(partner, PARTNER, SERVER);
    client.addStatusProvider('nat', () => ({ relayServer: false }));
    const nat = await startNatServices({
      mesh: client,
      transport: client.transport,
      components: client.components,
      detect: { servers: parseNatServers(`${SERVER},${PARTNER}`), timeoutMs: 500 },
    });
    expect(client.status().extra.nat).toMatchObject({ detection: 'pending', natType: 'Unknown', relayServer: false });
    const report = await settle(w.clock, nat.detection);
    expect(report).toMatchObject({ natType: 'None', mapping: 'endpoint-independent', filtering: 'endpoint-independent', publicAddrs: [CLIENT] });
    expect(client.status().extra.nat).toEqual({
      relayServer: false,
      natType: 'None',
      mapping: 'endpoint-independent',
      filtering: 'endpoint-independent',
      publicAddrs: [CLIENT],
      hairpin: report!.hairpin,
      detection: 'done',
    });
    const text = await metrics.metricsText();
    expect(text).toContain('quicmesh_nat_type{type="None"} 1');
    expect(text).toContain('quicmesh_nat_type{type="Unknown"} 0');
    // each server answered its part: the port test, the forwarded address test, an address probe
    expect(s1.status()).toMatchObject({ portTests: 1, addressTests: 1, addrProbes: 1, refused: 0 });
    expect(s2.status()).toMatchObject({ forwardedServed: 1, refused: 0 });
    await nat.stop();
    await Promise.all([server.stop(), partner.stop(), client.stop()]);
  });

  it('a NatTest naming replyTo from a non-partner is refused over the wire', async () => {
    const w = world();
    const server = w.node(SERVER);
    const client = w.node(CLIENT);
    await Promise.all([server.start(), client.start()]);
    const srv = w.natServer(server, SERVER, PARTNER);
    const reply = await settle(
      w.clock,
      client.request({ addr: SERVER }, { type: 'NatTest', from: client.contact, change: 'address', nonce: new Uint8Array(16), replyTo: '192.0.2.1:9' }),
    );
    expect(reply.msg).toEqual({ type: 'NatTestAck', nonce: new Uint8Array(16), accepted: false });
    expect(srv.status()).toMatchObject({ forwardedServed: 0, refused: 1 });
    await Promise.all([server.stop(), client.stop()]);
  });

  it('detection without a raw-capable transport is a ConfigError', async () => {
    const w = world();
    const kp = keypair();
    const net = new MemoryNetwork({ clock: w.clock, rng: new SeededRng(1) });
    const mesh = new MeshNode({
      keypair: kp,
      transport: net.createTransport({ nodeId: kp.nodeId, publicKey: kp.publicKeyBytes() }),
      components: { clock: w.clock, rng: new SeededRng(1), logger: silentLogger, metrics: noopMetrics },
    });
    await expect(startNatServices({ mesh, transport: mesh.transport, components: mesh.components, detect: { servers: parseNatServers(SERVER) } })).rejects.toThrow(ConfigError);
  });
});

describe('parseNatServers / localAddrsOf', () => {
  it('defaults the first server\'s second port to PORT + 1, takes /ALT, rejects bad input', () => {
    expect(parseNatServers('198.51.100.2:4433,198.51.100.3:4433')).toEqual([
      { addr: '198.51.100.2:4433', altPortAddr: '198.51.100.2:4434' },
      { addr: '198.51.100.3:4433' },
    ]);
    expect(parseNatServers('[2001:db8::1]:4433/5000')).toEqual([{ addr: '[2001:db8::1]:4433', altPortAddr: '[2001:db8::1]:5000' }]);
    expect(() => parseNatServers('')).toThrow(/--nat-detect/);
    expect(() => parseNatServers('nohost')).toThrow(ConfigError);
    expect(() => parseNatServers('1.2.3.4:4433/0')).toThrow(/alternate port/);
  });

  it('keeps a concrete address and expands a wildcard one to interface addresses', () => {
    expect(localAddrsOf('10.0.0.2:4433')).toEqual(['10.0.0.2:4433']);
    const all = localAddrsOf('0.0.0.0:4433');
    expect(all).toContain('127.0.0.1:4433');
    expect(all.every((a) => a.endsWith(':4433'))).toBe(true);
  });
});
