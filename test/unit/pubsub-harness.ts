/**
 * Test harness for the pubsub router: N GossipRouters on one ManualClock, each `send` effect
 * delivered after a fixed delay unless the `drop` filter says otherwise. Everything seeded.
 */
import { ManualClock } from '../../src/core/clock.js';
import { silentLogger } from '../../src/core/logger.js';
import { SeededRng } from '../../src/core/rng.js';
import type { Contact } from '../../src/core/types.js';
import { Keypair } from '../../src/identity/keypair.js';
import type { Counter, Gauge, Histogram, Labels, Metrics } from '../../src/metrics/metrics.js';
import type { GossipConfig } from '../../src/pubsub/config.js';
import type { MessageVerifier, ReceivedMessage } from '../../src/pubsub/message.js';
import { GossipRouter } from '../../src/pubsub/router.js';
import type { GossipEffect, PubsubRpc } from '../../src/pubsub/types.js';

export function keypairFor(seed: number): Keypair {
  const bytes = new Uint8Array(32);
  new DataView(bytes.buffer).setUint32(0, seed + 1);
  return Keypair.generate(bytes);
}

export function contactFor(kp: Keypair, i: number): Contact {
  return { id: kp.nodeId, addr: `10.0.0.${i}:4433` };
}

/** Metrics that remember every counter increment and gauge value, keyed by name and labels. */
export class RecordingMetrics implements Metrics {
  readonly values = new Map<string, number>();
  private key(name: string, labels?: Labels): string {
    return labels && Object.keys(labels).length > 0 ? `${name}${JSON.stringify(labels)}` : name;
  }
  counter(name: string): Counter {
    return { inc: (labels?: Labels, v = 1) => this.values.set(this.key(name, labels), this.get(name, labels) + v) };
  }
  gauge(name: string): Gauge {
    return {
      set: (v: number, labels?: Labels) => this.values.set(this.key(name, labels), v),
      inc: (labels?: Labels, v = 1) => this.values.set(this.key(name, labels), this.get(name, labels) + v),
      dec: (labels?: Labels, v = 1) => this.values.set(this.key(name, labels), this.get(name, labels) - v),
    };
  }
  histogram(): Histogram {
    return { observe: () => undefined };
  }
  get(name: string, labels?: Labels): number {
    return this.values.get(this.key(name, labels)) ?? 0;
  }
}

export interface HarnessNode {
  index: number;
  keypair: Keypair;
  contact: Contact;
  router: GossipRouter;
  metrics: RecordingMetrics;
  effects: GossipEffect[];
  delivered: ReceivedMessage[];
}

export class Harness {
  readonly clock = new ManualClock();
  readonly nodes: HarnessNode[] = [];
  delayMs = 10;
  /** Return true to lose a message. */
  drop: (from: number, to: number, msg: PubsubRpc) => boolean = () => false;
  private readonly byAddr = new Map<string, number>();

  constructor(n: number, config: Partial<GossipConfig> = {}, seed = 1, verifier?: MessageVerifier) {
    const root = new SeededRng(seed);
    for (let i = 0; i < n; i++) {
      const keypair = keypairFor(seed * 1000 + i);
      const contact = contactFor(keypair, i);
      const metrics = new RecordingMetrics();
      const node: HarnessNode = { index: i, keypair, contact, router: undefined!, metrics, effects: [], delivered: [] };
      node.router = new GossipRouter({
        keypair,
        localContact: () => contact,
        components: { clock: this.clock, rng: root.fork(), logger: silentLogger, metrics },
        config,
        verifier,
        onEffect: (e) => this.onEffect(node, e),
      });
      this.byAddr.set(contact.addr, i);
      this.nodes.push(node);
    }
  }

  /** Every node knows every other. */
  connectAll(): void {
    for (const a of this.nodes) for (const b of this.nodes) if (a !== b) a.router.addPeer(b.contact);
  }

  subscribeAll(topic: string): void {
    for (const n of this.nodes) n.router.subscribe(topic);
  }

  /** Heartbeat every node at its interval from now on (node i offset by i ms, so not in lockstep). */
  startHeartbeats(): void {
    for (const n of this.nodes) {
      const interval = n.router.config.heartbeatIntervalMs;
      const tick = (): void => {
        n.router.heartbeat();
        this.clock.setTimer(interval, tick);
      };
      this.clock.setTimer(interval + n.index, tick);
    }
  }

  /** Advance virtual time by `ms`, running everything due. */
  run(ms: number): void {
    this.clock.advance(ms);
  }

  sent(node: HarnessNode, type?: PubsubRpc['type']): PubsubRpc[] {
    const out: PubsubRpc[] = [];
    for (const e of node.effects) if (e.kind === 'send' && (type === undefined || e.msg.type === type)) out.push(e.msg);
    return out;
  }

  private onEffect(node: HarnessNode, e: GossipEffect): void {
    node.effects.push(e);
    if (e.kind === 'deliver') node.delivered.push(e.message);
    else if (e.kind === 'wake') this.clock.setTimer(e.at - this.clock.now(), () => node.router.poll());
    else if (e.kind === 'send') {
      const to = this.byAddr.get(e.to.addr);
      if (to === undefined || this.drop(node.index, to, e.msg)) return;
      const from = node.contact;
      this.clock.setTimer(this.delayMs, () => this.nodes[to]!.router.onRpc(from, e.msg));
    }
  }
}
