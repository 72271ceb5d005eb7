/**
 * A lean virtual network for large DHT simulations: RpcEndpoints (the DHT's view of the node
 * layer) joined directly, without MeshNode and MemoryTransport in between. The unchanged DhtNode
 * runs on top; only the plumbing under it is thinner.
 *
 * Why a second network: with 10,000 nodes the simulator moves millions of requests, and the
 * general transport pays per request for a pending-request table, a deadline timer that is
 * nearly always cancelled (and lingers in the clock's heap until it would have fired), identity
 * bookkeeping and metrics labels. Here every message's fate is known when it is scheduled, so a
 * request costs exactly two timers (request there, reply back) or one (its timeout, when the
 * request or the reply is lost or the peer is down).
 *
 * Semantics kept from the real stack: one-way latency from the latency model, per-message loss,
 * unreachable nodes stay silent (the caller times out), a request to an address that holds another
 * node than `target.nodeId` fails with IdentityError, unknown request types get an `Error` reply,
 * a throwing handler an `Internal` error reply, and the caller learns the replier's verified id.
 */
import { bytesEqual, shortHex } from '../core/bytes.js';
import type { Clock } from '../core/clock.js';
import type { Rng } from '../core/rng.js';
import type { Contact, NodeId } from '../core/types.js';
import type { DhtRequestHandler, RpcEndpoint } from '../dht/rpc.js';
import { AbortError, ConfigError, IdentityError, TimeoutError, TransportError, errorMessage } from '../errors.js';
import { defaultDeadline, MessageLoss } from '../transport/memory/network.js';
import type { PeerInfo, Reply, RequestOptions, Target } from '../transport/transport.js';
import type { Request, RequestType, Response } from '../wire/messages.js';

export interface SimNetworkOptions {
  clock: Clock;
  /** Draws message loss; nothing else uses it. */
  rng: Rng;
  /** One-way delay (ms) of a message from `fromAddr` to `toAddr`. */
  latencyMs: (fromAddr: string, toAddr: string) => number;
  /** Probability in [0, 1) that one message (request or reply) is lost. */
  lossRate?: number;
  /** Request deadline when the caller gives none; default REQUEST_TIMEOUT_MS. */
  defaultTimeoutMs?: number;
}

type AnyHandler = (peer: PeerInfo, msg: Request) => Promise<Response> | Response;

export class SimNetwork {
  readonly clock: Clock;
  /** Messages put on the wire (requests and replies), and those dropped (loss or down). */
  readonly stats = { requests: 0, messages: 0, dropped: 0 };
  private readonly loss: MessageLoss;
  private readonly latency: (fromAddr: string, toAddr: string) => number;
  readonly defaultTimeoutMs: number;
  private readonly endpoints = new Map<string, SimEndpoint>();

  constructor(opts: SimNetworkOptions) {
    this.clock = opts.clock;
    this.loss = new MessageLoss(opts.lossRate ?? 0, opts.rng);
    this.defaultTimeoutMs = defaultDeadline(opts.defaultTimeoutMs);
    this.latency = opts.latencyMs;
  }

  /** A reachable endpoint for node `id` at `addr` ("host:port", unique in this network). */
  createEndpoint(id: NodeId, addr: string): SimEndpoint {
    if (this.endpoints.has(addr)) throw new ConfigError(`address ${addr} is already in use`);
    const ep = new SimEndpoint(this, id, addr);
    this.endpoints.set(addr, ep);
    return ep;
  }

  endpointAt(addr: string): SimEndpoint | undefined {
    return this.endpoints.get(addr);
  }

  /** @internal delay of the next message, or -1 when it is lost. */
  transit(from: string, to: string): number {
    this.stats.messages++;
    if (this.loss.lost()) {
      this.stats.dropped++;
      return -1;
    }
    const d = this.latency(from, to);
    return d > 0 ? d : 0;
  }
}

/** One node's RpcEndpoint on a SimNetwork. */
export class SimEndpoint implements RpcEndpoint {
  readonly contact: Contact;
  /** How receivers see us (the simulated counterpart of the TLS-verified identity). */
  readonly peerInfo: PeerInfo;
  /** False once taken down: it neither answers nor sends. */
  up = true;
  private readonly handlers = new Map<string, AnyHandler>();

  constructor(
    private readonly net: SimNetwork,
    readonly id: NodeId,
    readonly addr: string,
  ) {
    this.contact = { id, addr };
    this.peerInfo = Object.freeze({ nodeId: id, publicKey: id, addr });
  }

  handle<T extends RequestType>(type: T, handler: DhtRequestHandler<T>): void {
    this.handlers.set(type, handler as AnyHandler);
  }

  /** Stop answering and sending (a crashed host); requests to us time out from now on. */
  down(): void {
    this.up = false;
  }

  request(target: Target, msg: Request, opts?: RequestOptions): Promise<Reply> {
    if (!this.up) return Promise.reject(new TransportError('endpoint is down'));
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(new AbortError(`request ${msg.type} to ${target.addr} aborted`));
    const net = this.net;
    net.stats.requests++;
    return new Promise<Reply>((resolve, reject) => {
      const ex = new Exchange(net, this, target, msg, opts?.timeoutMs ?? net.defaultTimeoutMs, resolve, reject);
      if (signal) signal.addEventListener('abort', () => ex.abort(), { once: true });
      ex.schedule(net.transit(this.addr, target.addr), STAGE_ARRIVE);
    });
  }

  /** @internal */
  handlerFor(type: string): AnyHandler | undefined {
    return this.handlers.get(type);
  }
}

const STAGE_ARRIVE = 0;
const STAGE_REPLY = 1;
const STAGE_REFUSED = 2;

/**
 * One request/response exchange. A class with methods rather than closures: the simulator creates
 * millions of these, and per-request closures cost allocations (and, under tsx, a __name call each).
 */
class Exchange {
  private readonly deadline: number;
  private settled = false;
  private response: Response | undefined;
  private dest: SimEndpoint | undefined;

  constructor(
    private readonly net: SimNetwork,
    private readonly from: SimEndpoint,
    private readonly target: Target,
    private readonly msg: Request,
    private readonly timeoutMs: number,
    private readonly resolve: (r: Reply) => void,
    private readonly reject: (e: Error) => void,
  ) {
    this.deadline = net.clock.now() + timeoutMs;
  }

  /** Run `stage` after `delay` ms; a lost (delay < 0) or too late message means the caller times out. */
  schedule(delay: number, stage: number): void {
    const clock = this.net.clock;
    if (delay < 0 || clock.now() + delay > this.deadline) {
      if (delay >= 0) this.net.stats.dropped++;
      this.timeoutAtDeadline();
    } else if (stage === STAGE_ARRIVE) clock.setTimer(delay, () => this.arrive());
    else if (stage === STAGE_REPLY) clock.setTimer(delay, () => this.deliverReply());
    else clock.setTimer(delay, () => this.refused());
  }

  abort(): void {
    this.fail(new AbortError(`request ${this.msg.type} to ${this.target.addr} aborted`));
  }

  private timeoutAtDeadline(): void {
    const clock = this.net.clock;
    clock.setTimer(this.deadline - clock.now(), () =>
      this.fail(new TimeoutError(`request ${this.msg.type} to ${this.target.addr} timed out after ${this.timeoutMs} ms`)),
    );
  }

  private fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(err);
  }

  /** The request reaches its address. */
  private arrive(): void {
    const net = this.net;
    const target = this.target;
    const dest = net.endpointAt(target.addr);
    if (dest === undefined || !dest.up) {
      net.stats.dropped++;
      this.timeoutAtDeadline();
      return;
    }
    this.dest = dest;
    const back = net.transit(target.addr, this.from.addr);
    if (target.nodeId !== undefined && !bytesEqual(target.nodeId, dest.id)) {
      // The "handshake" shows another node at this address: refused before serving.
      this.schedule(back, STAGE_REFUSED);
      return;
    }
    const handler = dest.handlerFor(this.msg.type);
    if (handler === undefined) {
      this.response = { type: 'Error', code: 'Unsupported', message: `this node does not serve ${this.msg.type} requests` };
      this.schedule(back, STAGE_REPLY);
      return;
    }
    let res: Promise<Response> | Response;
    try {
      res = handler(this.from.peerInfo, this.msg);
    } catch (err) {
      res = internal(err);
    }
    if (typeof (res as { then?: unknown }).then === 'function') {
      (res as Promise<Response>).then(
        (r) => this.replyLater(r),
        (err: unknown) => this.replyLater(internal(err)),
      );
      return;
    }
    this.response = res as Response;
    this.schedule(back, STAGE_REPLY);
  }

  /** An asynchronous handler finished: reply unless its node went down meanwhile. */
  private replyLater(res: Response): void {
    if (!this.dest!.up) {
      this.timeoutAtDeadline();
      return;
    }
    this.response = res;
    this.schedule(this.net.transit(this.target.addr, this.from.addr), STAGE_REPLY);
  }

  private deliverReply(): void {
    if (this.settled) return;
    if (!this.from.up) {
      // We went down meanwhile: the answer finds nobody.
      this.timeoutAtDeadline();
      return;
    }
    this.settled = true;
    this.resolve({ from: this.dest!.peerInfo, msg: this.response! });
  }

  private refused(): void {
    const expected = this.target.nodeId!;
    this.fail(new IdentityError(`expected node ${shortHex(expected)} at ${this.target.addr}, found ${shortHex(this.dest!.id)}`));
  }
}

function internal(err: unknown): Response {
  return { type: 'Error', code: 'Internal', message: errorMessage(err) };
}
