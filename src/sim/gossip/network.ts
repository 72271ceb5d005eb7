/**
 * The gossip simulator's network: N GossipRouters in one process, in virtual time. A router's
 * `send` effect becomes a timer on the shared ManualClock that fires after the latency model's
 * one-way delay and calls the target's `onRpc`; a lost message (latency model loss) or one to or
 * from a failed node simply never arrives. The routers are synchronous state machines, so the
 * clock is stepped directly: no promise continuations have to run between two events.
 *
 * The network also keeps the scenario's measurements: bytes sent per node (exact wire sizes from
 * the codec), full copies received per message, and each node's hop count of first delivery.
 */
import type { ManualClock } from '../../core/clock.js';
import type { Rng } from '../../core/rng.js';
import type { Contact } from '../../core/types.js';
import type { Keypair } from '../../identity/keypair.js';
import { noopMetrics } from '../../metrics/metrics.js';
import { silentLogger } from '../../core/logger.js';
import { GossipRouter } from '../../pubsub/router.js';
import type { GossipConfig } from '../../pubsub/config.js';
import { messageIdKey, messageIdOf, type MessageVerifier } from '../../pubsub/message.js';
import type { GossipEffect, PubsubRpc } from '../../pubsub/types.js';
import { encodeMessage } from '../../wire/codec.js';
import type { LatencyModel } from '../latency.js';

/** What the scenario learns about one published message. */
export interface MessageTrace {
  key: string;
  source: number;
  publishedAt: number;
  /** Hop count of each node's first delivery (-1: not delivered; 0 at the source). */
  hops: Int16Array;
  /** Virtual ms from publish to each node's delivery (NaN: not delivered). */
  latency: Float64Array;
  /** Full copies (Publish messages) that reached live nodes. */
  copies: number;
}

export interface SimNetOptions {
  clock: ManualClock;
  latency: LatencyModel;
  keypairs: readonly Keypair[];
  addrs: readonly string[];
  config: Partial<GossipConfig>;
  verifier: MessageVerifier;
  rngs: readonly Rng[];
}

export class GossipSimNet {
  readonly routers: GossipRouter[] = [];
  readonly contacts: Contact[];
  readonly failed: Uint8Array;
  /** Bytes each node put on the wire while `counting`. */
  readonly bytesSent: Float64Array;
  counting = false;
  /** Messages handed to the network / lost in it (loss or failed endpoint), while counting. */
  sent = 0;
  dropped = 0;
  /** Messages sent by type while counting. */
  readonly byType = new Map<string, number>();
  private readonly traces = new Map<string, MessageTrace>();
  private readonly index = new Map<string, number>();
  private readonly sizes = new WeakMap<object, number>();
  private readonly clock: ManualClock;
  private readonly latency: LatencyModel;
  private readonly addrs: readonly string[];

  constructor(opts: SimNetOptions) {
    this.clock = opts.clock;
    this.latency = opts.latency;
    this.addrs = opts.addrs;
    const n = opts.keypairs.length;
    this.failed = new Uint8Array(n);
    this.bytesSent = new Float64Array(n);
    this.contacts = opts.keypairs.map((kp, i) => ({ id: kp.nodeId, addr: opts.addrs[i]! }));
    this.contacts.forEach((c, i) => this.index.set(c.addr, i));
    for (let i = 0; i < n; i++) {
      const self = this.contacts[i]!;
      this.routers.push(
        new GossipRouter({
          keypair: opts.keypairs[i]!,
          localContact: () => self,
          components: { clock: opts.clock, rng: opts.rngs[i]!, logger: silentLogger, metrics: noopMetrics },
          config: opts.config,
          verifier: opts.verifier,
          onEffect: (e) => this.onEffect(i, e),
        }),
      );
    }
  }

  /** Start measuring a message published by node `source` with id key `key`. */
  trace(key: string, source: number): MessageTrace {
    const n = this.routers.length;
    const t: MessageTrace = {
      key,
      source,
      publishedAt: this.clock.now(),
      hops: new Int16Array(n).fill(-1),
      latency: new Float64Array(n).fill(NaN),
      copies: 0,
    };
    t.hops[source] = 0;
    t.latency[source] = 0;
    this.traces.set(key, t);
    return t;
  }

  /** Start node `i`'s periodic heartbeat, first firing after `phaseMs`. */
  startHeartbeat(i: number, phaseMs: number, intervalMs: number): void {
    const tick = (): void => {
      if (this.failed[i]) return;
      this.routers[i]!.heartbeat();
      this.clock.setTimer(intervalMs, tick);
    };
    this.clock.setTimer(phaseMs, tick);
  }

  private onEffect(from: number, e: GossipEffect): void {
    if (this.failed[from]) return;
    switch (e.kind) {
      case 'send':
        return this.transmit(from, e.to, e.msg);
      case 'deliver': {
        const t = this.traces.get(messageIdKey(e.message.id));
        if (!t) return;
        const via = this.index.get(e.from.addr)!;
        t.hops[from] = t.hops[via]! + 1;
        t.latency[from] = this.clock.now() - t.publishedAt;
        return;
      }
      case 'wake':
        this.clock.setTimer(e.at - this.clock.now(), () => {
          if (!this.failed[from]) this.routers[from]!.poll();
        });
        return;
      case 'penalise':
        return;
    }
  }

  private transmit(from: number, to: Contact, msg: PubsubRpc): void {
    const target = this.index.get(to.addr);
    if (target === undefined) return;
    if (this.counting) {
      this.sent++;
      this.byType.set(msg.type, (this.byType.get(msg.type) ?? 0) + 1);
      this.bytesSent[from]! += this.sizeOf(msg);
    }
    if (this.failed[target] || this.latency.drop()) {
      if (this.counting) this.dropped++;
      return;
    }
    const delay = this.latency.oneWayMs(this.addrs[from]!, this.addrs[target]!);
    const sender = this.contacts[from]!;
    this.clock.setTimer(delay, () => {
      if (this.failed[target]) return;
      if (msg.type === 'Publish') {
        const t = this.traces.get(messageIdKey(messageIdOf(msg.message)));
        if (t) t.copies++;
      }
      this.routers[target]!.onRpc(sender, msg);
    });
  }

  private sizeOf(msg: PubsubRpc): number {
    let n = this.sizes.get(msg);
    if (n === undefined) {
      n = encodeMessage(msg).length;
      this.sizes.set(msg, n);
    }
    return n;
  }
}
