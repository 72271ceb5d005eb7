/**
 * Vivaldi coordinates in the DHT driver: carried in requests and replies only with tiering on,
 * fed by every measured RTT, and used by lookups to rank candidates never measured.
 */
import { describe, expect, it } from 'vitest';
import { bytesEqual } from '../../src/core/bytes.js';
import { ManualClock } from '../../src/core/clock.js';
import { settle } from '../support/virtual-time.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import type { Contact, NodeId } from '../../src/core/types.js';
import { DhtNode, type DhtNodeOptions, type DhtTiering } from '../../src/dht/dht-node.js';
import { compareDistance } from '../../src/dht/distance.js';
import type { DhtRequestHandler, RpcEndpoint } from '../../src/dht/rpc.js';
import { TimeoutError } from '../../src/errors.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import type { PeerInfo, Reply, RequestOptions, Target } from '../../src/transport/transport.js';
import type { NetCoord, Request, RequestType, Response } from '../../src/wire/messages.js';

const HOP_MS = 10;

interface Received {
  at: number;
  msg: Request;
}

/** Every hop takes HOP_MS of virtual time; each node logs what it received and when. */
class Net {
  readonly nodes = new Map<string, Rpc>();
  constructor(readonly clock: ManualClock) {}
}

class Rpc implements RpcEndpoint {
  readonly contact: Contact;
  readonly peer: PeerInfo;
  readonly handlers = new Map<string, DhtRequestHandler<RequestType>>();
  readonly received: Received[] = [];
  readonly replies: Response[] = [];

  constructor(
    private readonly net: Net,
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
    return new Promise((resolve, reject) => {
      const dest = this.net.nodes.get(target.addr);
      if (!dest || (target.nodeId && !bytesEqual(target.nodeId, dest.contact.id))) {
        clock.setTimer(opts?.timeoutMs ?? 5000, () => reject(new TimeoutError('no such node')));
        return;
      }
      clock.setTimer(HOP_MS, () => {
        dest.received.push({ at: clock.now(), msg });
        const resp = dest.handlers.get(msg.type)!(this.peer, msg as never) as Response;
        this.replies.push(resp);
        clock.setTimer(HOP_MS, () => resolve({ from: dest.peer, msg: resp }));
      });
    });
  }
}

/** Tiers by a fixed rule: below 50 ms is tier 0, else tier 1. Nothing is ever measured into it. */
class FixedTiering implements DhtTiering {
  readonly tierCount = 2;
  recordRtt(): void {}
  tierOf(): number | undefined {
    return undefined;
  }
  tierOfRtt(rttMs: number): number {
    return rttMs < 50 ? 0 : 1;
  }
  recompute(): void {}
  snapshot(): { centroids: number[]; counts: number[] } {
    return { centroids: [20, 200], counts: [0, 0] };
  }
  dropStale(): void {}
}

function world(seed: number) {
  const clock = new ManualClock(0);
  const net = new Net(clock);
  const rng = new SeededRng(seed);
  let n = 0;
  const make = (options: DhtNodeOptions = {}, id: NodeId = rng.bytes(32)): { rpc: Rpc; dht: DhtNode } => {
    n++;
    const rpc = new Rpc(net, id, `10.2.0.${n}:4433`);
    const dht = new DhtNode({
      rpc,
      components: { clock, rng: rng.fork(), logger: silentLogger, metrics: noopMetrics },
      options: { maintenance: false, adaptiveAlpha: false, adaptiveK: false, ...options },
    });
    dht.attach();
    return { rpc, dht };
  };
  return { clock, rng, make };
}

const NEAR: NetCoord = { x: 3, y: 4, height: 1, error: 0.2 }; // ~6 ms from a fresh coordinate
const FAR: NetCoord = { x: 300, y: 0, height: 5, error: 0.2 }; // ~305 ms

describe('DHT with network coordinates', () => {
  it('tiering on: requests and replies carry coordinates, and a measured RTT moves ours', async () => {
    const { clock, make } = world(1);
    const a = make();
    const r = make();
    const c = make();
    // c reports its coordinate to r first-hand (its Ping and FindNode carry it).
    await settle(clock, c.dht.bootstrap([r.rpc.contact], { refresh: false }));
    const fromC = r.rpc.received.filter((x) => bytesEqual(x.msg.from.id, c.rpc.contact.id));
    expect(fromC.length).toBeGreaterThan(0);
    const lastCoord = (fromC[fromC.length - 1]!.msg as { coord?: NetCoord }).coord;
    expect(lastCoord).toBeDefined();
    expect(r.dht.coordinates!.book.get(c.rpc.contact.id)).toBe(lastCoord);
    a.dht.observeContact(r.rpc.contact, 20);
    const before = a.dht.coordinates!.own;
    await settle(clock, a.dht.iterativeFindNode(c.rpc.contact.id));
    const req = r.rpc.received.find((x) => x.msg.type === 'FindNode' && bytesEqual(x.msg.from.id, a.rpc.contact.id))!;
    expect((req.msg as { coord?: NetCoord }).coord).toBeDefined();
    const reply = a.rpc.replies.find((m) => m.type === 'Nodes')!;
    expect(reply.type === 'Nodes' && reply.coord).toBeTruthy();
    if (reply.type !== 'Nodes') throw new Error('unreachable');
    const at = reply.nodes.findIndex((x) => bytesEqual(x.id, c.rpc.contact.id));
    expect(reply.coords![at]).toEqual(r.dht.coordinates!.book.get(c.rpc.contact.id));
    expect(a.dht.coordinates!.updates).toBeGreaterThan(0);
    expect(a.dht.coordinates!.own).not.toEqual(before);
    expect(a.dht.coordinates!.book.get(r.rpc.contact.id)).toBeDefined();
  });

  it('tiering off: no coordinate state and no coordinate on the wire (the plain encoding)', async () => {
    const { clock, make } = world(2);
    const off: DhtNodeOptions = { tierAware: false };
    const a = make(off);
    const r = make(off);
    const c = make(off);
    await settle(clock, c.dht.bootstrap([r.rpc.contact], { refresh: false }));
    a.dht.observeContact(r.rpc.contact, 20);
    await settle(clock, a.dht.iterativeFindNode(c.rpc.contact.id));
    expect(a.dht.coordinates).toBeUndefined();
    for (const node of [a, r, c]) {
      for (const { msg } of node.rpc.received) expect('coord' in msg).toBe(false);
      for (const msg of node.rpc.replies) {
        expect('coord' in msg).toBe(false);
        expect('coords' in msg).toBe(false);
      }
    }
  });

  /**
   * a knows only r. r knows s1, s2 (closest to the target) and f (farther), none of them ever
   * measured by a. With α = 2, once r answers a queries two of them at once: by XOR distance
   * s1 and s2; with the coordinates r relays putting f in a's fast tier and s1, s2 in the slow
   * one, f goes in the first batch (with s1, which may be passed over only α times).
   */
  async function firstBatch(relayCoords: boolean): Promise<{ f: number; s1: number; s2: number }> {
    const { clock, rng, make } = world(3);
    const target = rng.bytes(32);
    const ids = [rng.bytes(32), rng.bytes(32), rng.bytes(32)].sort((x, y) => compareDistance(target, x, y));
    const opts: DhtNodeOptions = { alpha: 2, tiering: new FixedTiering() };
    const a = make(opts);
    const r = make(opts);
    const s1 = make(opts, ids[0]!);
    const s2 = make(opts, ids[1]!);
    const f = make(opts, ids[2]!);
    for (const x of [s1, s2, f]) r.dht.observeContact(x.rpc.contact);
    if (relayCoords) {
      r.dht.coordinates!.book.reported(s1.rpc.contact.id, FAR);
      r.dht.coordinates!.book.reported(s2.rpc.contact.id, FAR);
      r.dht.coordinates!.book.reported(f.rpc.contact.id, NEAR);
    }
    a.dht.observeContact(r.rpc.contact);
    const result = await settle(clock, a.dht.iterativeFindNode(target));
    expect(result.closest.map((c) => c.id)).toContainEqual(ids[0]);
    const when = (x: { rpc: Rpc }): number =>
      x.rpc.received.find((m) => m.msg.type === 'FindNode' && bytesEqual(m.msg.from.id, a.rpc.contact.id))!.at;
    return { f: when(f), s1: when(s1), s2: when(s2) };
  }

  it('a lookup prefers an unmeasured candidate whose relayed coordinate estimates it fast', async () => {
    const withCoord = await firstBatch(true);
    expect(withCoord.f).toBeLessThan(withCoord.s2);
    expect(withCoord.f).toBe(withCoord.s1);
    // Control: without coordinates f waits for a free slot (plain distance order).
    const without = await firstBatch(false);
    expect(without.s1).toBe(without.s2);
    expect(without.f).toBeGreaterThan(without.s2);
  });
});
