import { describe, expect, it } from 'vitest';
import { bytesEqual } from '../../src/core/bytes.js';
import { ManualClock } from '../../src/core/clock.js';
import { flush, settle } from '../support/virtual-time.js';
import type { Components } from '../../src/core/components.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import type { Contact, Key, NodeId } from '../../src/core/types.js';
import { DhtNode, type DhtNodeOptions, type DhtTiering } from '../../src/dht/dht-node.js';
import { randomIdInBucket } from '../../src/dht/distance.js';
import type { DhtStorage } from '../../src/dht/handlers.js';
import type { DhtRequestHandler, RpcEndpoint } from '../../src/dht/rpc.js';
import { IdentityError, TimeoutError, TransportError } from '../../src/errors.js';
import type { Labels, Metrics } from '../../src/metrics/metrics.js';
import type { PeerInfo, Reply, RequestOptions, Target } from '../../src/transport/transport.js';
import type { Request, RequestType, Response, StoreRejection } from '../../src/wire/messages.js';
import { LatencyTiering } from '../../src/tiering/latency-tiering.js';

const LATENCY = 10;

/** A tiny in-file network: every hop takes LATENCY ms of virtual time; down nodes never answer. */
class FakeNet {
  readonly nodes = new Map<string, FakeRpc>();
  readonly down = new Set<string>();
  constructor(readonly clock: ManualClock) {}
}

class FakeRpc implements RpcEndpoint {
  readonly contact: Contact;
  readonly peer: PeerInfo;
  readonly handlers = new Map<string, DhtRequestHandler<RequestType>>();
  readonly received: Request[] = [];

  constructor(
    private readonly net: FakeNet,
    id: NodeId,
    addr: string,
  ) {
    this.contact = { id, addr };
    this.peer = { nodeId: id, publicKey: new Uint8Array(32), addr };
    net.nodes.set(addr, this);
  }

  handle<T extends RequestType>(type: T, handler: DhtRequestHandler<T>): void {
    this.handlers.set(type, handler as unknown as DhtRequestHandler<RequestType>);
  }

  request(target: Target, msg: Request, opts?: RequestOptions): Promise<Reply> {
    const clock = this.net.clock;
    const timeout = opts?.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const dest = this.net.nodes.get(target.addr);
      if (!dest || this.net.down.has(target.addr)) {
        clock.setTimer(timeout, () => reject(new TimeoutError(`${msg.type} to ${target.addr} timed out`)));
        return;
      }
      if (target.nodeId && !bytesEqual(target.nodeId, dest.contact.id)) {
        clock.setTimer(LATENCY, () => reject(new IdentityError('identity mismatch')));
        return;
      }
      clock.setTimer(LATENCY, () => {
        dest.received.push(msg);
        const h = dest.handlers.get(msg.type);
        const resp = h ? (h(this.peer, msg as never) as Response) : ({ type: 'Error', code: 'Unsupported', message: msg.type } as Response);
        clock.setTimer(LATENCY, () => resolve({ from: dest.peer, msg: resp }));
      });
    });
  }
}

/** Records metric calls by name. */
function recordingMetrics(): { metrics: Metrics; calls: Map<string, { value: number; labels?: Labels }[]> } {
  const calls = new Map<string, { value: number; labels?: Labels }[]>();
  const rec = (name: string) => (value: number, labels?: Labels) => {
    const list = calls.get(name) ?? [];
    list.push({ value, labels });
    calls.set(name, list);
  };
  const metrics: Metrics = {
    counter: (name) => ({ inc: (labels, value) => rec(name)(value ?? 1, labels) }),
    gauge: (name) => ({ set: (v, labels) => rec(name)(v, labels), inc: () => {}, dec: () => {} }),
    histogram: (name) => ({ observe: (v, labels) => rec(name)(v, labels) }),
  };
  return { metrics, calls };
}

class FakeTiering implements DhtTiering {
  readonly tiers = new Map<string, number>();
  readonly rtts: [NodeId, number][] = [];
  recordRtt(id: NodeId, rttMs: number): void {
    this.rtts.push([id, rttMs]);
  }
  tierOf(id: NodeId): number | undefined {
    return this.tiers.get(id.join(','));
  }
  recompute(): void {}
  snapshot(): { centroids: number[]; counts: number[] } {
    return { centroids: [20], counts: [this.tiers.size] };
  }
  dropStale(): void {}
}

/** A store that accepts everything unless told otherwise, with a settable pressure. */
class FakeStorage implements DhtStorage {
  readonly map = new Map<string, Uint8Array>();
  pressureValue = 0;
  refuse: StoreRejection | null = null;
  put(_from: NodeId, key: Key, value: Uint8Array): StoreRejection | null {
    if (this.refuse) return this.refuse;
    this.map.set(key.join(','), value);
    return null;
  }
  get(key: Key): Uint8Array | undefined {
    return this.map.get(key.join(','));
  }
  has(key: Key): boolean {
    return this.map.has(key.join(','));
  }
  pressure(): number {
    return this.pressureValue;
  }
  get size(): number {
    return this.map.size;
  }
  sweepExpired(): number {
    return 0;
  }
}

interface Setup {
  clock: ManualClock;
  net: FakeNet;
  rng: SeededRng;
  make(id?: NodeId, options?: DhtNodeOptions, metrics?: Metrics): { rpc: FakeRpc; dht: DhtNode };
}

function setup(seed = 1): Setup {
  const clock = new ManualClock(0);
  const net = new FakeNet(clock);
  const rng = new SeededRng(seed);
  let n = 0;
  return {
    clock,
    net,
    rng,
    make(id = rng.bytes(32), options: DhtNodeOptions = {}, metrics?: Metrics) {
      n++;
      const rpc = new FakeRpc(net, id, `10.1.${n >> 8}.${n & 255}:4433`);
      const components: Components = { clock, rng: rng.fork(), logger: silentLogger, metrics: metrics ?? recordingMetrics().metrics };
      const dht = new DhtNode({ rpc, components, options: { maintenance: false, ...options } });
      dht.attach();
      return { rpc, dht };
    },
  };
}

describe('DhtNode driver', () => {
  it('observes the sender of every served request', async () => {
    const s = setup(1);
    const a = s.make();
    const b = s.make();
    await settle(s.clock, b.dht.bootstrap([a.rpc.contact.addr]));
    expect(a.dht.table.has(b.rpc.contact.id)).toBe(true);
    expect(b.dht.table.has(a.rpc.contact.id)).toBe(true);
  });

  it('pings the LRU head of a full bucket and evicts it when it does not answer', async () => {
    const s = setup(2);
    const a = s.make(undefined, { k: 10, requestTimeoutMs: 1000, pingFreshnessMs: 0 });
    const full = Array.from({ length: 10 }, () => s.make(randomIdInBucket(a.rpc.contact.id, 255, s.rng)));
    for (const p of full) a.dht.observeContact(p.rpc.contact);
    const head = full[0]!;
    s.net.down.add(head.rpc.contact.addr);
    const newcomer = s.make(randomIdInBucket(a.rpc.contact.id, 255, s.rng));
    // the newcomer talks to A: the full bucket makes A ping the head, which is down
    await settle(s.clock, newcomer.rpc.request(a.rpc.contact, { type: 'Ping', from: newcomer.rpc.contact }));
    expect(a.dht.table.has(newcomer.rpc.contact.id)).toBe(false);
    s.clock.advance(1000);
    await flush();
    expect(a.dht.table.has(head.rpc.contact.id)).toBe(false);
    expect(a.dht.table.has(newcomer.rpc.contact.id)).toBe(true);
  });

  it('keeps a live head and leaves the newcomer in the replacement cache', async () => {
    const s = setup(3);
    const a = s.make(undefined, { k: 10, pingFreshnessMs: 0 });
    const full = Array.from({ length: 10 }, () => s.make(randomIdInBucket(a.rpc.contact.id, 255, s.rng)));
    for (const p of full) a.dht.observeContact(p.rpc.contact);
    const newcomer = s.make(randomIdInBucket(a.rpc.contact.id, 255, s.rng));
    await settle(s.clock, newcomer.rpc.request(a.rpc.contact, { type: 'Ping', from: newcomer.rpc.contact }));
    s.clock.advance(100);
    await flush();
    expect(full[0]!.rpc.received.some((m) => m.type === 'Ping')).toBe(true);
    expect(a.dht.table.has(full[0]!.rpc.contact.id)).toBe(true);
    expect(a.dht.table.bucketReplacements(255).map((c) => c.addr)).toEqual([newcomer.rpc.contact.addr]);
  });

  it('learns contacts named in replies (free slots only) unless learnFromReplies is off', async () => {
    for (const learn of [true, false]) {
      const s = setup(13);
      const hub = s.make();
      const others = Array.from({ length: 8 }, () => s.make());
      for (const o of others) hub.dht.observeContact(o.rpc.contact);
      const a = s.make(undefined, { learnFromReplies: learn });
      a.dht.observeContact(hub.rpc.contact);
      // a k = 1 lookup asks the hub, then only a few of the nodes it names
      await settle(s.clock, a.dht.iterativeFindNode(s.rng.bytes(32), { k: 1 }));
      const asked = others.filter((o) => o.rpc.received.length > 0).length;
      expect(asked).toBeLessThan(8);
      expect(a.dht.table.size).toBe(learn ? 9 : 1 + asked);
    }
  });

  it('a node that answers with an Error reply stays in the table; a silent one is evicted', async () => {
    const s = setup(14);
    const a = s.make(undefined, { requestTimeoutMs: 500 });
    const refuser = new FakeRpc(s.net, s.rng.bytes(32), '10.2.0.1:4433'); // serves nothing: Error replies
    const silent = s.make();
    s.net.down.add(silent.rpc.contact.addr);
    a.dht.observeContact(refuser.contact);
    a.dht.observeContact(silent.rpc.contact);
    const r = await settle(s.clock, a.dht.iterativeFindNode(s.rng.bytes(32)));
    expect(r.failures).toBe(2); // the refusal, and the timeout (500 ms, within the lookup)
    expect(r.closest).toEqual([]);
    expect(a.dht.table.has(refuser.contact.id)).toBe(true);
    expect(a.dht.table.has(silent.rpc.contact.id)).toBe(false);
  });

  it('times every request and feeds the RTT to tiering', async () => {
    const s = setup(4);
    const tiering = new FakeTiering();
    const a = s.make(undefined, { tiering });
    const b = s.make();
    await settle(s.clock, a.dht.bootstrap([b.rpc.contact]));
    expect(tiering.rtts.length).toBeGreaterThan(0);
    expect(tiering.rtts.every(([, rtt]) => rtt === 2 * LATENCY)).toBe(true);
    expect(a.dht.table.rttOf(b.rpc.contact.id)).toBe(2 * LATENCY);
  });

  it('bootstrap fails with TransportError when no seed answers, and [] starts a network alone', async () => {
    const s = setup(5);
    const a = s.make();
    await expect(settle(s.clock, a.dht.bootstrap(['10.9.9.9:1']))).rejects.toBeInstanceOf(TransportError);
    const alone = await settle(s.clock, a.dht.bootstrap([]));
    expect(alone).toEqual({ contacted: 0, selfLookup: undefined, refreshLookups: 0, routingTableSize: 0 });
  });

  it('a seed with the wrong id is a failure, not a contact', async () => {
    const s = setup(6);
    const a = s.make();
    const b = s.make();
    const liar = { id: s.rng.bytes(32), addr: b.rpc.contact.addr };
    await expect(settle(s.clock, a.dht.bootstrap([liar]))).rejects.toBeInstanceOf(TransportError);
    expect(a.dht.table.size).toBe(0);
  });

  it('spills under local pressure: no local copy, slowest tiers first, Pressure refusals retried elsewhere', async () => {
    const s = setup(7);
    const tiering = new FakeTiering();
    const storage = new FakeStorage();
    const a = s.make(undefined, { tiering, storage, k: 10, adaptiveK: false });
    const peers = Array.from({ length: 24 }, () => {
      const st = new FakeStorage();
      return { ...s.make(undefined, { storage: st, k: 10 }), st };
    });
    await settle(s.clock, a.dht.bootstrap(peers.map((p) => p.rpc.contact), { refresh: false }));
    // slow tiers for half of the peers; one slow peer is itself full
    peers.forEach((p, i) => tiering.tiers.set(p.rpc.contact.id.join(','), i % 2 === 0 ? 3 : 0));
    const fullPeer = peers[0]!;
    fullPeer.st.refuse = 'Pressure';

    storage.pressureValue = 0.95;
    const value = new Uint8Array([7, 7, 7]);
    const r = await settle(s.clock, a.dht.put(value));
    expect(r.spilled).toBe(true);
    expect(r.local).toBeUndefined();
    expect(storage.size).toBe(0);
    expect(r.accepted).toBe(10);
    const pressureRefusals = r.acks.filter((x) => x.rejection === 'Pressure');
    expect(pressureRefusals.length).toBeLessThanOrEqual(1);
    const holders = peers.filter((p) => p.st.has(r.key));
    const slowHolders = holders.filter((p) => tiering.tierOf(p.rpc.contact.id) === 3);
    const slowAvailable = r.lookup.closest
      .concat(r.lookup.spare)
      .slice(0, 20)
      .filter((c) => tiering.tierOf(c.id) === 3 && !bytesEqual(c.id, fullPeer.rpc.contact.id)).length;
    expect(slowHolders.length).toBe(Math.min(10, slowAvailable));

    // without pressure: the k closest, plus a local copy when we are among them
    storage.pressureValue = 0;
    const r2 = await settle(s.clock, a.dht.put(new Uint8Array([8])));
    expect(r2.spilled).toBe(false);
    const expected = r2.lookup.closest.slice(0, 10).map((c) => c.addr).filter((x) => x !== fullPeer.rpc.contact.addr);
    const got = r2.acks.filter((x) => x.rejection === null).map((x) => x.contact.addr);
    for (const addr of expected) expect(got).toContain(addr);
  });

  it('records lookup metrics and gauges', async () => {
    const s = setup(8);
    const { metrics, calls } = recordingMetrics();
    const a = s.make(undefined, {}, metrics);
    const b = s.make();
    await settle(s.clock, a.dht.bootstrap([b.rpc.contact.addr]));
    await settle(s.clock, a.dht.findValue(s.rng.bytes(32)));
    const lookups = calls.get('quicmesh_dht_lookups_total') ?? [];
    expect(lookups.some((c) => c.labels?.kind === 'node' && c.labels?.result === 'ok')).toBe(true);
    expect(lookups.some((c) => c.labels?.kind === 'value' && c.labels?.result === 'not_found')).toBe(true);
    expect(calls.get('quicmesh_dht_lookup_rounds')?.length).toBeGreaterThan(0);
    expect(calls.get('quicmesh_dht_lookup_duration_seconds')?.[0]?.value).toBeGreaterThan(0);
    expect(calls.get('quicmesh_dht_k')?.at(-1)?.value).toBe(20);
    expect(calls.get('quicmesh_dht_alpha')?.at(-1)?.value).toBe(3);
    a.dht.telemetrySnapshot();
    expect(calls.get('quicmesh_dht_routing_table_size')?.at(-1)?.value).toBe(1);
  });

  it('runs maintenance on the injected clock and stop() cancels every timer', async () => {
    const s = setup(9);
    const storage = new FakeStorage();
    let sweeps = 0;
    storage.sweepExpired = () => ++sweeps;
    const tiering = new FakeTiering();
    let recomputes = 0;
    tiering.recompute = () => void ++recomputes;
    const a = s.make(undefined, { maintenance: true, storage, tiering });
    // maintenance, expiry sweep, first tier clustering (10 s), tier recompute (5 min)
    expect(s.clock.pending).toBe(4);
    s.clock.advance(10_000);
    expect(recomputes).toBe(1);
    s.clock.advance(5 * 60_000 - 10_000);
    expect(sweeps).toBe(5);
    expect(recomputes).toBe(2);
    a.dht.stop();
    expect(s.clock.pending).toBe(0);
  });

  it('repeats the early clustering while it has no tier model, then waits for the regular interval', () => {
    const s = setup(11);
    const tiering = new FakeTiering();
    let recomputes = 0;
    let model = 0;
    Object.defineProperty(tiering, 'tierCount', { get: () => model });
    tiering.recompute = () => {
      recomputes++;
      if (recomputes === 3) model = 2; // samples arrived before the third try
    };
    const a = s.make(undefined, { maintenance: true, tiering });
    s.clock.advance(60_000);
    expect(recomputes).toBe(3);
    a.dht.stop();
  });

  it('refreshes stale buckets from the maintenance tick', async () => {
    const s = setup(10);
    const a = s.make(undefined, { maintenance: true, refreshIntervalMs: 120_000, maintenanceIntervalMs: 60_000 });
    const others = Array.from({ length: 12 }, () => s.make());
    await settle(s.clock, a.dht.bootstrap(others.map((o) => o.rpc.contact), { refresh: false }));
    const before = others.reduce((n, o) => n + o.rpc.received.filter((m) => m.type === 'FindNode').length, 0);
    s.clock.advance(180_000);
    for (let i = 0; i < 50; i++) {
      await flush();
      if (!s.clock.step()) break;
    }
    const after = others.reduce((n, o) => n + o.rpc.received.filter((m) => m.type === 'FindNode').length, 0);
    expect(after).toBeGreaterThan(before);
    a.dht.stop();
  });

  it('stop() finishes in-flight lookups', async () => {
    const s = setup(11);
    const a = s.make();
    const b = s.make();
    a.dht.observeContact(b.rpc.contact);
    s.net.down.add(b.rpc.contact.addr);
    const p = a.dht.iterativeFindNode(s.rng.bytes(32));
    await flush();
    a.dht.stop();
    const r = await p;
    expect(r.closest).toEqual([]);
    expect(r.queried).toBe(1);
  });

  it('rejects bad options with ConfigError', () => {
    const s = setup(12);
    expect(() => s.make(undefined, { alpha: 9 })).toThrow(/alpha/);
    expect(() => s.make(undefined, { k: 99 })).toThrow(/k must be/);
    expect(() => s.make(undefined, { requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs/);
  });
});

describe('the tiering model the DHT reads for PNS and slot release', () => {
  it('exposes the fastest tier centre and the tier of a raw RTT once a model exists', () => {
    const clock = new ManualClock(0);
    const tiering = new LatencyTiering({}, clock, new SeededRng(4));
    expect(tiering.fastestTierMs).toBeUndefined();
    expect(tiering.tierOfRtt(10)).toBeUndefined();
    const rng = new SeededRng(5);
    for (let i = 0; i < 30; i++) tiering.recordRtt(rng.bytes(32), i % 2 === 0 ? 10 + (i % 5) : 200 + (i % 7));
    tiering.recompute();
    expect(tiering.tierCount).toBeGreaterThanOrEqual(2);
    expect(tiering.fastestTierMs!).toBeGreaterThan(9);
    expect(tiering.fastestTierMs!).toBeLessThan(15);
    expect(tiering.tierOfRtt(12)).toBe(0);
    expect(tiering.tierOfRtt(190)!).toBeGreaterThan(0);
  });
});
