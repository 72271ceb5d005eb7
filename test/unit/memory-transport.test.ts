import { describe, expect, it } from 'vitest';
import { ManualClock, SystemClock } from '../../src/core/clock.js';
import { SeededRng } from '../../src/core/rng.js';
import type { Contact } from '../../src/core/types.js';
import { ConfigError, DecodeError, TimeoutError, TransportError } from '../../src/errors.js';
import { Keypair } from '../../src/identity/keypair.js';
import { capability } from '../../src/transport/capabilities.js';
import { MemoryNetwork, type MemoryNetworkOptions } from '../../src/transport/memory/index.js';
import type { MemoryTransport } from '../../src/transport/memory/index.js';
import type { PeerInfo, TransportHandlers } from '../../src/transport/transport.js';
import type { Message, Request, Response } from '../../src/wire/messages.js';
import { runTransportCompliance } from '../compliance/transport-compliance.js';

let seedCounter = 1;
function keypair(): Keypair {
  const seed = new Uint8Array(32);
  new DataView(seed.buffer).setUint32(0, seedCounter++);
  return Keypair.generate(seed);
}

function makeTransport(net: MemoryNetwork, addr?: string): MemoryTransport {
  const kp = keypair();
  return net.createTransport({ nodeId: kp.nodeId, publicKey: kp.publicKeyBytes(), addr });
}

function realTimePair(opts: Partial<MemoryNetworkOptions>) {
  return async () => {
    const net = new MemoryNetwork({ clock: new SystemClock(), rng: new SeededRng(7), latencyMs: () => 1, ...opts });
    return { a: makeTransport(net), b: makeTransport(net), cleanup: async () => {} };
  };
}

runTransportCompliance('memory, encoded, real time', realTimePair({ encode: true }));
runTransportCompliance('memory, unencoded, real time', realTimePair({ encode: false }));

const ack: Response = { type: 'Ack', rejection: null };
const acking: TransportHandlers = { onRequest: () => ack };

function ping(t: MemoryTransport): Request {
  return { type: 'Ping', from: { id: t.localNodeId, addr: t.localAddr } };
}

/** Records when a promise settled on the virtual clock. */
function track<T>(clock: ManualClock, p: Promise<T>) {
  const state: { at?: number; value?: T; error?: unknown } = {};
  p.then(
    (value) => Object.assign(state, { at: clock.now(), value }),
    (error: unknown) => Object.assign(state, { at: clock.now(), error }),
  );
  return state;
}

/** Let promise callbacks run (the virtual clock only fires timers). */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

describe('MemoryNetwork in virtual time', () => {
  it('delivers after exactly the one-way latency of each direction', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({
      clock,
      rng: new SeededRng(1),
      latencyMs: (from, to) => (from < to ? 25 : 40),
    });
    const [a, b] = [makeTransport(net, '10.0.0.1:1'), makeTransport(net, '10.0.0.2:1')];
    const servedAt: number[] = [];
    await a.start(acking);
    await b.start({
      onRequest: () => {
        servedAt.push(clock.now());
        return ack;
      },
    });
    const reply = track(clock, a.request({ addr: b.localAddr }, ping(a)));
    clock.advance(24);
    expect(servedAt).toEqual([]);
    clock.advance(1);
    expect(servedAt).toEqual([25]);
    clock.advance(39);
    await flush();
    expect(reply.at).toBeUndefined();
    clock.advance(1);
    await flush();
    expect(reply.at).toBe(65);
    expect(reply.value?.msg).toEqual(ack);
    expect(net.stats).toMatchObject({ sent: 2, delivered: 2, dropped: 0 });
  });

  it('times out on the virtual clock when the peer is down, and recovers when it is back', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock, rng: new SeededRng(1), latencyMs: () => 10, defaultTimeoutMs: 1000 });
    const [a, b] = [makeTransport(net), makeTransport(net)];
    await a.start(acking);
    await b.start(acking);
    net.setReachable(b.localAddr, false);
    expect(net.isReachable(b.localAddr)).toBe(false);
    const lost = track(clock, a.request({ addr: b.localAddr }, ping(a)));
    clock.advance(999);
    await flush();
    expect(lost.at).toBeUndefined();
    clock.advance(1);
    await flush();
    expect(lost.at).toBe(1000);
    expect(lost.error).toBeInstanceOf(TimeoutError);
    expect(a.pendingCount).toBe(0);

    net.setReachable(b.localAddr, true);
    const ok = track(clock, a.request({ addr: b.localAddr }, ping(a)));
    clock.advance(20);
    await flush();
    expect(ok.value?.msg).toEqual(ack);
    expect(net.stats.dropped).toBe(1);
  });

  it('drops packets from a down node too', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock, rng: new SeededRng(1), defaultTimeoutMs: 50 });
    const [a, b] = [makeTransport(net), makeTransport(net)];
    let served = 0;
    await a.start(acking);
    await b.start({ onRequest: () => (served++, ack) });
    net.setReachable(a.localAddr, false);
    const r = track(clock, a.request({ addr: b.localAddr }, ping(a)));
    clock.advance(100);
    await flush();
    expect(r.error).toBeInstanceOf(TimeoutError);
    expect(served).toBe(0);
  });

  it('loses packets at the configured rate', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock, rng: new SeededRng(99), lossRate: 0.3, encode: false });
    const [a, b] = [makeTransport(net), makeTransport(net)];
    let received = 0;
    await a.start(acking);
    await b.start({ onRequest: () => ack, onNotify: () => void received++ });
    const n = 4000;
    for (let i = 0; i < n; i++) await a.notify({ addr: b.localAddr }, ping(a));
    clock.advance(1);
    // Binomial(4000, 0.7): standard deviation ≈ 29, so ±150 is over five sigma.
    expect(Math.abs(received - 0.7 * n)).toBeLessThan(150);
    expect(net.stats.lost).toBe(n - received);
    expect(net.stats.sent).toBe(n);
  });

  it('replays identically from the same seed, and differently from another', async () => {
    async function run(seed: number): Promise<string[]> {
      const clock = new ManualClock();
      const rng = new SeededRng(seed);
      const latencyRng = new SeededRng(seed + 1000);
      const net = new MemoryNetwork({
        clock,
        rng,
        lossRate: 0.2,
        latencyMs: () => 1 + latencyRng.int(50),
        defaultTimeoutMs: 200,
        encode: false,
      });
      const nodes = Array.from({ length: 5 }, () => makeTransport(net));
      const trace: string[] = [];
      for (const [i, t] of nodes.entries()) {
        await t.start({
          onRequest: (peer) => {
            trace.push(`${clock.now()} ${i} served ${peer.addr}`);
            return ack;
          },
        });
      }
      for (let round = 0; round < 20; round++) {
        const from = nodes[round % 5]!;
        const to = nodes[(round * 3 + 1) % 5]!;
        from.request({ addr: to.localAddr }, ping(from)).then(
          () => trace.push(`${clock.now()} reply ${round}`),
          (e: Error) => trace.push(`${clock.now()} ${e.name} ${round}`),
        );
      }
      while (clock.step()) await flush();
      await flush();
      return trace;
    }
    const first = await run(5);
    expect(first.length).toBeGreaterThan(20);
    expect(await run(5)).toEqual(first);
    expect(await run(6)).not.toEqual(first);
  });

  it('presents the registered identity and the sender address to handlers', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock, rng: new SeededRng(1) });
    const [a, b] = [makeTransport(net, '192.0.2.7:4433'), makeTransport(net)];
    const peers: PeerInfo[] = [];
    await a.start(acking);
    await b.start({ onRequest: (peer) => (peers.push(peer), ack) });
    const r = track(clock, a.request({ addr: b.localAddr, nodeId: b.localNodeId }, ping(a)));
    clock.advance(0);
    await flush();
    expect(r.value?.from.nodeId).toEqual(b.localNodeId);
    expect(peers[0]).toEqual({ nodeId: a.localNodeId, publicKey: a.publicKey, addr: '192.0.2.7:4433' });
  });

  it('drops a notification meant for another NodeId', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock, rng: new SeededRng(1) });
    const [a, b] = [makeTransport(net), makeTransport(net)];
    const got: Message[] = [];
    await a.start(acking);
    await b.start({ onRequest: () => ack, onNotify: (_p, m) => void got.push(m) });
    await a.notify({ addr: b.localAddr, nodeId: a.localNodeId }, ping(a));
    await a.notify({ addr: b.localAddr, nodeId: b.localNodeId }, ping(a));
    clock.advance(0);
    expect(got).toHaveLength(1);
  });

  it('reports an undecodable frame and never serves it', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock, rng: new SeededRng(1) });
    const [a, b] = [makeTransport(net), makeTransport(net)];
    const bad: Array<[string, Error]> = [];
    let served = 0;
    await a.start(acking);
    await b.start({ onRequest: () => (served++, ack), onBadFrame: (addr, err) => void bad.push([addr, err]) });
    // Inject a corrupt packet the way the network would deliver it.
    b.receive({ kind: 0, from: a, toAddr: b.localAddr, id: 1, expected: undefined, msg: undefined, bytes: Uint8Array.of(1, 0xee) });
    expect(served).toBe(0);
    expect(bad).toHaveLength(1);
    expect(bad[0]![0]).toBe(a.localAddr);
    expect(bad[0]![1]).toBeInstanceOf(DecodeError);
  });

  it('refuses to send what the codec would refuse, without putting it on the network', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock, rng: new SeededRng(1) });
    const [a, b] = [makeTransport(net), makeTransport(net)];
    await a.start(acking);
    await b.start(acking);
    const from: Contact = { id: a.localNodeId, addr: a.localAddr };
    const huge: Request = { type: 'Store', from, key: new Uint8Array(32), value: new Uint8Array(1 << 20), kind: 'content' };
    await expect(a.request({ addr: b.localAddr }, huge)).rejects.toBeInstanceOf(DecodeError);
    expect(net.stats.sent).toBe(0);
  });

  it('hands the message object itself over when encode is false', async () => {
    const clock = new ManualClock();
    const net = new MemoryNetwork({ clock, rng: new SeededRng(1), encode: false });
    const [a, b] = [makeTransport(net), makeTransport(net)];
    const seen: Request[] = [];
    await a.start(acking);
    await b.start({ onRequest: (_p, m) => (seen.push(m), ack) });
    const msg = ping(a);
    void a.request({ addr: b.localAddr }, msg);
    clock.advance(0);
    expect(seen[0]).toBe(msg);
    expect(net.stats.bytes).toBe(0);
  });

  it('guards addresses, options and lifecycle', async () => {
    const clock = new ManualClock();
    expect(() => new MemoryNetwork({ clock, rng: new SeededRng(1), lossRate: 1.5 })).toThrow(ConfigError);
    // a network that loses every packet delivers nothing: refused, as the simulator's is
    expect(() => new MemoryNetwork({ clock, rng: new SeededRng(1), lossRate: 1 })).toThrow(/lossRate must be in \[0, 1\), got 1/);
    const net = new MemoryNetwork({ clock, rng: new SeededRng(1) });
    expect(() => makeTransport(net, 'no-port')).toThrow(ConfigError);
    const first = makeTransport(net, '10.9.9.9:1');
    const second = makeTransport(net, '10.9.9.9:1');
    await first.start(acking);
    await expect(second.start(acking)).rejects.toBeInstanceOf(TransportError);
    await expect(first.start(acking)).rejects.toBeInstanceOf(TransportError);
    await expect(second.request({ addr: first.localAddr }, ping(second))).rejects.toThrow('not started');
    expect(net.size).toBe(1);
    await first.close();
    expect(net.size).toBe(0);
    expect(net.isReachable('10.9.9.9:1')).toBe(false);
    await second.start(acking); // the address is free again
    expect(net.transportAt('10.9.9.9:1')).toBe(second);
    await expect(first.start(acking)).rejects.toThrow('closed');
  });

  it('gives distinct automatic addresses', () => {
    const net = new MemoryNetwork({ clock: new ManualClock(), rng: new SeededRng(1) });
    const addrs = new Set(Array.from({ length: 300 }, () => makeTransport(net).localAddr));
    expect(addrs.size).toBe(300);
  });

  it('declares connection control as its one capability', () => {
    const t = makeTransport(new MemoryNetwork({ clock: new ManualClock(), rng: new SeededRng(1) }));
    expect(capability(t, 'connectionControl')).toBe(t);
    for (const name of ['datagrams', 'relayedPaths', 'rawDatagrams', 'streams', 'drainingDisconnect'] as const) {
      expect(capability(t, name), name).toBeUndefined();
    }
  });
});
