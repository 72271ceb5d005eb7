/**
 * GossipSub: the thin driver that binds the sans-IO GossipRouter to a node. It registers the
 * pubsub message handlers on a MeshNode-like endpoint, turns the router's effects into one-way
 * sends (notify when the endpoint has it, else a request answered with Ack), runs the heartbeat
 * and IWant follow-ups on components.clock, and hands delivered messages to `messages()`
 * iterators. Peers come from the caller (the DHT feeds them); a peer whose sends keep failing is
 * dropped.
 */
import { bytesEqual, shortHex } from '../core/bytes.js';
import type { TimerHandle } from '../core/clock.js';
import type { Components } from '../core/components.js';
import type { Contact } from '../core/types.js';
import type { Keypair } from '../identity/keypair.js';
import type { PeerInfo, RequestOptions, Target } from '../transport/transport.js';
import type { Ack, Message, MessageOf, Request, RequestOf, RequestType, Response } from '../wire/messages.js';
import type { GossipConfig } from './config.js';
import { PubsubError } from './errors.js';
import type { MessageId, MessageVerifier, ReceivedMessage } from './message.js';
import { GossipRouter } from './router.js';
import { PUBSUB_RPC_TYPES, type GossipEffect, type PubsubRpc } from './types.js';

/** What the driver needs from a node (MeshNode satisfies it). */
export interface PubsubEndpoint {
  readonly contact: Contact;
  request(target: Target, msg: Request, opts?: RequestOptions): Promise<unknown>;
  handle<T extends RequestType>(type: T, handler: (peer: PeerInfo, msg: RequestOf<T>) => Response | Promise<Response>): void;
  /** One-way send; used instead of request() when present. */
  notify?(target: Target, msg: Message, opts?: RequestOptions): Promise<void>;
  onNotify?<T extends Message['type']>(type: T, handler: (peer: PeerInfo, msg: MessageOf<T>) => void): void;
  addStatusProvider?(name: string, provider: () => unknown): () => void;
}

/** What a GossipSub is built from: endpoint, keypair, components and configuration. */
export interface GossipSubOptions {
  endpoint: PubsubEndpoint;
  keypair: Keypair;
  components: Components;
  config?: Partial<GossipConfig>;
  verifier?: MessageVerifier;
  /** Messages buffered per `messages()` iterator; beyond it the oldest are dropped. Default 1024. */
  queueSize?: number;
  /** Deadline of one send, ms. Default 5000. */
  sendTimeoutMs?: number;
  /** Consecutive failed sends after which a peer is dropped. Default 3. */
  maxSendFailures?: number;
}

const ACK: Ack = { type: 'Ack', rejection: null };

interface Subscriber {
  items: ReceivedMessage[];
  wake: (() => void) | null;
  closed: boolean;
}

/** Publish/subscribe over the mesh: drives a GossipRouter on a node's transport and clock. */
export class GossipSub {
  readonly router: GossipRouter;
  private readonly endpoint: PubsubEndpoint;
  private readonly c: Components;
  private readonly queueSize: number;
  private readonly sendTimeoutMs: number;
  private readonly maxSendFailures: number;
  private readonly subscribers = new Set<Subscriber>();
  private readonly failures = new Map<string, number>();
  private readonly wakeTimers = new Set<TimerHandle>();
  private heartbeatTimer: TimerHandle | null = null;
  private removeStatus: (() => void) | undefined;
  private stopped = false;
  /** Messages dropped because an iterator's queue was full. */
  droppedDeliveries = 0;

  constructor(opts: GossipSubOptions) {
    this.endpoint = opts.endpoint;
    this.c = opts.components;
    this.queueSize = opts.queueSize ?? 1024;
    this.sendTimeoutMs = opts.sendTimeoutMs ?? 5_000;
    this.maxSendFailures = opts.maxSendFailures ?? 3;
    this.router = new GossipRouter({
      keypair: opts.keypair,
      localContact: () => this.endpoint.contact,
      components: opts.components,
      config: opts.config,
      verifier: opts.verifier,
      onEffect: (e) => this.onEffect(e),
    });
    for (const type of PUBSUB_RPC_TYPES) {
      this.endpoint.handle(type, (peer, msg) => {
        this.receive(peer, msg as PubsubRpc);
        return ACK;
      });
      this.endpoint.onNotify?.(type, (peer, msg) => this.receive(peer, msg as PubsubRpc));
    }
    this.removeStatus = this.endpoint.addStatusProvider?.('pubsub', () => this.router.status());
    this.scheduleHeartbeat();
  }

  subscribe(topic: string): void {
    this.checkRunning();
    this.router.subscribe(topic);
  }

  unsubscribe(topic: string): void {
    this.checkRunning();
    this.router.unsubscribe(topic);
  }

  /** Sign and send `data` on `topic`; resolves to the message id. */
  async publish(topic: string, data: Uint8Array): Promise<MessageId> {
    this.checkRunning();
    return this.router.publish(topic, data);
  }

  addPeer(contact: Contact): boolean {
    if (this.stopped) return false;
    return this.router.addPeer(contact);
  }

  removePeer(contact: Contact | Uint8Array): void {
    this.router.removePeer(contact);
  }

  /** The transport's RTT to a peer, ms (feeds the latency-tiered mesh; see GossipRouter.observeRtt). */
  observeRtt(id: Uint8Array, rttMs: number): void {
    if (!this.stopped) this.router.observeRtt(id, rttMs);
  }

  /**
   * Messages of subscribed topics, as they are delivered, from the moment of the call. Each call
   * is an independent stream; it ends on stop() or when the consumer breaks out of the loop.
   */
  messages(): AsyncIterable<ReceivedMessage> {
    const sub: Subscriber = { items: [], wake: null, closed: this.stopped };
    this.subscribers.add(sub);
    const close = (): void => {
      sub.closed = true;
      this.subscribers.delete(sub);
      sub.wake?.();
    };
    return {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<ReceivedMessage>> => {
          for (;;) {
            const item = sub.items.shift();
            if (item) return { value: item, done: false };
            if (sub.closed) return { value: undefined, done: true };
            await new Promise<void>((resolve) => (sub.wake = resolve));
            sub.wake = null;
          }
        },
        return: async (): Promise<IteratorResult<ReceivedMessage>> => {
          close();
          return { value: undefined, done: true };
        },
      }),
    };
  }

  /** Stop timers and end every `messages()` stream. Idempotent; handlers stay registered but ignore input. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = null;
    for (const t of this.wakeTimers) t.cancel();
    this.wakeTimers.clear();
    this.removeStatus?.();
    for (const sub of [...this.subscribers]) {
      sub.closed = true;
      sub.wake?.();
    }
    this.subscribers.clear();
  }

  private receive(peer: PeerInfo, msg: PubsubRpc): void {
    if (this.stopped) return;
    // The node checks `from` for requests; one-way messages are checked here.
    if (!msg.from || !bytesEqual(msg.from.id, peer.nodeId)) {
      this.c.logger.debug('pubsub message with forged from dropped', { peer: shortHex(peer.nodeId), type: msg.type });
      return;
    }
    this.router.onRpc(msg.from, msg);
  }

  private onEffect(e: GossipEffect): void {
    if (this.stopped) return;
    switch (e.kind) {
      case 'send':
        return this.send(e.to, e.msg);
      case 'deliver':
        for (const sub of this.subscribers) {
          if (sub.items.length >= this.queueSize) {
            sub.items.shift();
            this.droppedDeliveries++;
          }
          sub.items.push(e.message);
          sub.wake?.();
        }
        return;
      case 'penalise':
        this.c.logger.debug('pubsub peer penalised', {
          peer: shortHex(e.peer.id),
          reason: e.reason,
          score: e.score.toFixed(1),
          graylisted: e.graylisted,
        });
        return;
      case 'wake': {
        const timer = this.c.clock.setTimer(e.at - this.c.clock.now(), () => {
          this.wakeTimers.delete(timer);
          if (!this.stopped) this.router.poll();
        });
        this.wakeTimers.add(timer);
        return;
      }
    }
  }

  private send(to: Contact, msg: PubsubRpc): void {
    const target: Target = { addr: to.addr, nodeId: to.id };
    const opts: RequestOptions = { timeoutMs: this.sendTimeoutMs };
    const sent = this.endpoint.notify ? this.endpoint.notify(target, msg, opts) : this.endpoint.request(target, msg, opts);
    const key = shortHex(to.id, 64);
    sent.then(
      () => this.failures.delete(key),
      (err: unknown) => {
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        this.c.logger.debug('pubsub send failed', { peer: shortHex(to.id), type: msg.type, error: String(err) });
        if (n >= this.maxSendFailures) {
          this.failures.delete(key);
          this.router.removePeer(to);
        }
      },
    );
  }

  private scheduleHeartbeat(): void {
    this.heartbeatTimer = this.c.clock.setTimer(this.router.config.heartbeatIntervalMs, () => {
      if (this.stopped) return;
      this.router.heartbeat();
      this.scheduleHeartbeat();
    });
  }

  private checkRunning(): void {
    if (this.stopped) throw new PubsubError('Stopped', 'this GossipSub has been stopped');
  }
}
