import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import type { Contact } from '../../src/core/types.js';
import type { Keypair } from '../../src/identity/keypair.js';
import { noopMetrics } from '../../src/metrics/metrics.js';
import type { MeshNode } from '../../src/node/mesh-node.js';
import { GossipSub, type PubsubEndpoint } from '../../src/pubsub/gossipsub.js';
import { PubsubError } from '../../src/pubsub/errors.js';
import type { ReceivedMessage } from '../../src/pubsub/message.js';
import type { PeerInfo, Target } from '../../src/transport/transport.js';
import type { Message, MessageType, Request, RequestType, Response } from '../../src/wire/messages.js';
import { contactFor, keypairFor } from './pubsub-harness.js';
import { flush } from '../support/virtual-time.js';

// MeshNode must satisfy the driver's endpoint shape (checked by the compiler).
const _meshNodeIsEndpoint = (n: MeshNode): PubsubEndpoint => n;
void _meshNodeIsEndpoint;

type AnyHandler = (peer: PeerInfo, msg: never) => unknown;

/** An in-process endpoint: notify() delivers to the addressed endpoint's handlers after 5 ms. */
class FakeEndpoint implements PubsubEndpoint {
  readonly contact: Contact;
  readonly requestHandlers = new Map<string, AnyHandler>();
  readonly notifyHandlers = new Map<string, AnyHandler>();
  readonly peerInfo: PeerInfo;

  constructor(
    readonly keypair: Keypair,
    index: number,
    private readonly clock: ManualClock,
    private readonly registry: Map<string, FakeEndpoint>,
  ) {
    this.contact = contactFor(keypair, index);
    this.peerInfo = { nodeId: keypair.nodeId, publicKey: keypair.identity, addr: this.contact.addr };
    registry.set(this.contact.addr, this);
  }

  async request(target: Target, msg: Request): Promise<unknown> {
    const to = this.registry.get(target.addr);
    if (!to) throw new Error('unreachable');
    return (to.requestHandlers.get(msg.type) as (p: PeerInfo, m: Request) => Response)(this.peerInfo, msg);
  }

  handle<T extends RequestType>(type: T, handler: (peer: PeerInfo, msg: never) => Response | Promise<Response>): void {
    this.requestHandlers.set(type, handler);
  }

  async notify(target: Target, msg: Message): Promise<void> {
    const to = this.registry.get(target.addr);
    if (!to) throw new Error(`no endpoint at ${target.addr}`);
    this.clock.setTimer(5, () => (to.notifyHandlers.get(msg.type) as (p: PeerInfo, m: Message) => void)(this.peerInfo, msg));
  }

  onNotify<T extends MessageType>(type: T, handler: (peer: PeerInfo, msg: never) => void): void {
    this.notifyHandlers.set(type, handler);
  }
}

function setup(n: number): { clock: ManualClock; eps: FakeEndpoint[]; subs: GossipSub[] } {
  const clock = new ManualClock();
  const registry = new Map<string, FakeEndpoint>();
  const rng = new SeededRng(9);
  const eps: FakeEndpoint[] = [];
  const subs: GossipSub[] = [];
  for (let i = 0; i < n; i++) {
    const ep = new FakeEndpoint(keypairFor(700 + i), i, clock, registry);
    eps.push(ep);
    subs.push(
      new GossipSub({
        endpoint: ep,
        keypair: ep.keypair,
        components: { clock, rng: rng.fork(), logger: silentLogger, metrics: noopMetrics },
      }),
    );
  }
  for (const s of subs) for (const ep of eps) s.addPeer(ep.contact);
  return { clock, eps, subs };
}

async function take(it: AsyncIterator<ReceivedMessage>, clock: ManualClock, n: number): Promise<ReceivedMessage[]> {
  const out: ReceivedMessage[] = [];
  while (out.length < n) {
    const next = it.next();
    // Deliveries happen inside clock timers: advance until this pending read resolves.
    let done = false;
    void next.then(() => (done = true));
    for (let i = 0; i < 1000 && !done; i++) {
      clock.advance(10);
      await Promise.resolve();
    }
    const r = await next;
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe('GossipSub driver', () => {
  it('delivers published messages to the other nodes through messages()', async () => {
    const { clock, eps, subs } = setup(5);
    for (const s of subs) s.subscribe('news');
    clock.advance(3_000); // heartbeats build the mesh
    const streams = subs.map((s) => s.messages()[Symbol.asyncIterator]());
    const id = await subs[0]!.publish('news', new TextEncoder().encode('hi'));
    for (let i = 1; i < 5; i++) {
      const [m] = await take(streams[i]!, clock, 1);
      expect(m!.topic).toBe('news');
      expect(new TextDecoder().decode(m!.data)).toBe('hi');
      expect(m!.id).toEqual(id);
      expect(m!.source).toEqual(eps[0]!.keypair.identity);
    }
    for (const s of subs) s.stop();
  });

  it('drops one-way messages whose from does not match the sender', () => {
    const { clock, eps, subs } = setup(2);
    subs[1]!.subscribe('news');
    clock.advance(100);
    const forger = eps[0]!;
    const victim = eps[1]!;
    const handler = victim.notifyHandlers.get('Graft') as (p: PeerInfo, m: Message) => void;
    const someoneElse = contactFor(keypairFor(999), 9);
    handler(forger.peerInfo, { type: 'Graft', from: someoneElse, topic: 'news' });
    expect(subs[1]!.router.meshPeers('news')).toHaveLength(0);
    handler(forger.peerInfo, { type: 'Graft', from: forger.contact, topic: 'news' });
    expect(subs[1]!.router.meshPeers('news')).toHaveLength(1);
  });

  it('drops a peer after repeated send failures', async () => {
    const { eps, subs } = setup(1);
    const ghost = contactFor(keypairFor(998), 77);
    subs[0]!.addPeer(ghost);
    expect(subs[0]!.router.peerCount).toBe(1);
    void eps;
    for (let i = 0; i < 3; i++) subs[0]!.subscribe(`t${i}`); // each sends a Subscribe to the ghost
    await flush();
    expect(subs[0]!.router.peerCount).toBe(0);
  });

  it('stop() ends message streams and refuses further use', async () => {
    const { subs } = setup(1);
    const it = subs[0]!.messages()[Symbol.asyncIterator]();
    const pending = it.next();
    subs[0]!.stop();
    expect(await pending).toEqual({ value: undefined, done: true });
    await expect(subs[0]!.publish('x', new Uint8Array(1))).rejects.toThrow(PubsubError);
    expect(() => subs[0]!.subscribe('x')).toThrow(/Stopped/);
  });
});
