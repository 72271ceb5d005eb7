/**
 * MeshNode (spec: "Mesh node for accepting incoming QUIC connections and RPC dispatch"): binds a
 * Transport to a RequestRouter, serves the built-in requests (Ping, WhatIsMyAddr), sends requests
 * with metrics, and reports a status snapshot to which services add their own sections.
 *
 * Services (DHT, NAT traversal, pubsub) attach through the structural `MeshService` surface:
 * `request`, `handle`, `contact` (plus `onNotify`/`notify` for one-way messages).
 */
import { shortHex, toHex } from '../core/bytes.js';
import type { Components } from '../core/components.js';
import { notifyListeners } from '../core/listeners.js';
import type { Contact, NodeId } from '../core/types.js';
import { AbortError, IdentityError, RemoteError, TimeoutError, TransportError, errorMessage } from '../errors.js';
import type { Keypair } from '../identity/keypair.js';
import type { Counter, Gauge, Histogram } from '../metrics/metrics.js';
import type { NotifyHandler, PeerInfo, Reply, RequestHandler, RequestOptions, Target, Transport } from '../transport/transport.js';
import type { Message, MessageType, Request, RequestType, Response, SuccessResponse } from '../wire/messages.js';
import { RequestRouter } from './dispatch.js';

export type { SuccessResponse };

/** What a service needs from the node: the names the DHT and other services rely on. */
export interface MeshService {
  readonly contact: Contact;
  request(target: Target, msg: Request, opts?: RequestOptions): Promise<Reply<SuccessResponse>>;
  handle<T extends RequestType>(type: T, handler: RequestHandler<T>): void;
}

/** What a MeshNode is built from: keypair, transport and components. */
export interface MeshNodeOptions {
  keypair: Keypair;
  transport: Transport;
  components: Components;
}

/** A node's status snapshot (`status()`, `GET /status`): identity, address, uptime, request counts, service sections. */
export interface NodeStatus {
  /** Hex NodeId. */
  nodeId: string;
  /** Hex Ed25519 public key (what endpoint records are keyed by). */
  identity: string;
  addr: string;
  /** Clock time of start(), or null before. */
  startedAt: number | null;
  uptimeMs: number;
  /** Distinct authenticated peers that sent us a request or answered one of ours. */
  peersSeen: number;
  requestsServed: Record<string, number>;
  requestsSent: Record<string, number>;
  identityMismatches: number;
  /** One section per status provider (e.g. `dht`), as returned by it. */
  extra: Record<string, unknown>;
}

/** Outcome label of an outgoing request in `quicmesh_requests_total{result}`. */
export type RequestResult = 'ok' | 'remote_error' | 'timeout' | 'aborted' | 'identity' | 'transport' | 'error';

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A node on a transport: serves requests per type (Ping and WhatIsMyAddr built in), sends them, reports status. */
export class MeshNode implements MeshService {
  readonly keypair: Keypair;
  readonly nodeId: NodeId;
  readonly transport: Transport;
  readonly components: Components;
  readonly router: RequestRouter;

  private startedAt: number | null = null;
  private advertised: string | undefined;
  private running = false;
  private readonly peerObjects = new WeakSet<PeerInfo>();
  private readonly peers = new Set<string>();
  private readonly sent = new Map<string, number>();
  private readonly statusProviders = new Map<string, () => unknown>();
  private readonly peerListeners = new Set<(peer: PeerInfo) => void>();
  private readonly requestsTotal: Counter;
  private readonly requestDuration: Histogram;
  private readonly peersGauge: Gauge;

  constructor(opts: MeshNodeOptions) {
    this.keypair = opts.keypair;
    this.nodeId = opts.keypair.nodeId;
    this.transport = opts.transport;
    this.components = opts.components;
    const { logger, metrics } = opts.components;
    this.router = new RequestRouter({ logger, metrics });
    this.requestsTotal = metrics.counter('quicmesh_requests_total', 'Requests sent, by type and result', [
      'type',
      'result',
    ]);
    this.requestDuration = metrics.histogram(
      'quicmesh_request_duration_seconds',
      'Time from sending a request to its reply (replies only, including error replies)',
      ['type'],
      DURATION_BUCKETS,
    );
    this.peersGauge = metrics.gauge('quicmesh_peers_seen', 'Distinct authenticated peers seen since start');

    this.router.handle('Ping', () => ({ type: 'Ack', rejection: null }), { builtin: true });
    this.router.handle('WhatIsMyAddr', (peer) => ({ type: 'YourAddr', addr: peer.addr }), { builtin: true });
  }

  /**
   * This node as others should dial it: the transport's address, or the advertised one when the
   * transport listens on a wildcard (0.0.0.0 means nothing to peers). Valid after start().
   */
  get contact(): Contact {
    return { id: this.nodeId, addr: this.advertised ?? this.transport.localAddr };
  }

  /** Set (or clear, with null) the address put in our contact: the node's address on its network now. */
  setAdvertisedAddr(addr: string | null): void {
    this.advertised = addr ?? undefined;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Serve `type` with `handler`. Replaces a built-in (Ping, WhatIsMyAddr) once; otherwise one per type. */
  handle<T extends RequestType>(type: T, handler: RequestHandler<T>): void {
    this.router.handle(type, handler);
  }

  onNotify<T extends MessageType>(type: T, handler: NotifyHandler<T>): void {
    this.router.onNotify(type, handler);
  }

  /**
   * Answer one request as if it had arrived from `peer` (already authenticated). This is what the
   * transport calls; tests call it directly, no socket needed. Never throws.
   */
  dispatch(peer: PeerInfo, msg: Request): Promise<Response> | Response {
    this.notePeer(peer);
    this.tellPeerListeners(peer);
    return this.router.dispatch(peer, msg);
  }

  /** A one-way message from `peer`; see onNotify. */
  dispatchNotify(peer: PeerInfo, msg: Message): void {
    this.notePeer(peer);
    this.tellPeerListeners(peer);
    this.router.dispatchNotify(peer, msg);
  }

  async start(): Promise<void> {
    if (this.running) return;
    const logger = this.components.logger;
    await this.transport.start({
      onRequest: (peer, msg) => this.dispatch(peer, msg),
      onNotify: (peer, msg) => this.dispatchNotify(peer, msg),
      onBadFrame: (addr, err) => logger.debug('bad frame dropped', { addr, error: err.message }),
    });
    this.running = true;
    this.startedAt = this.components.clock.now();
  }

  /** Close the transport (pending requests fail); idempotent. */
  async stop(): Promise<void> {
    this.running = false;
    await this.transport.close();
  }

  /**
   * Send a request and await the reply. An `Error` reply is thrown as RemoteError(code, message);
   * transport failures reject with TimeoutError, AbortError, IdentityError or TransportError.
   * Every outcome is counted in quicmesh_requests_total{type,result}; replies (error replies too)
   * are timed in quicmesh_request_duration_seconds{type}.
   */
  async request(target: Target, msg: Request, opts?: RequestOptions): Promise<Reply<SuccessResponse>> {
    const type = msg.type;
    this.sent.set(type, (this.sent.get(type) ?? 0) + 1);
    const clock = this.components.clock;
    const t0 = clock.now();
    let reply: Reply;
    try {
      reply = await this.transport.request(target, msg, opts);
    } catch (err) {
      this.requestsTotal.inc({ type, result: failureResult(err) });
      throw err;
    }
    this.requestDuration.observe((clock.now() - t0) / 1000, { type });
    this.notePeer(reply.from);
    if (reply.msg.type === 'Error') {
      this.requestsTotal.inc({ type, result: 'remote_error' });
      throw new RemoteError(reply.msg.code, reply.msg.message);
    }
    this.requestsTotal.inc({ type, result: 'ok' });
    return reply as Reply<SuccessResponse>;
  }

  /** Send a one-way message (no reply, no delivery guarantee). */
  notify(target: Target, msg: Message, opts?: RequestOptions): Promise<void> {
    return this.transport.notify(target, msg, opts);
  }

  /**
   * Call `listener` with the sender of every incoming request and one-way message (e.g. a relay
   * learns which nodes hold a connection to it). Returns a function that removes it.
   */
  onPeerSeen(listener: (peer: PeerInfo) => void): () => void {
    this.peerListeners.add(listener);
    return () => this.peerListeners.delete(listener);
  }

  /** Contribute a section `name` to status().extra; returns a function that removes it. */
  addStatusProvider(name: string, provider: () => unknown): () => void {
    this.statusProviders.set(name, provider);
    return () => {
      if (this.statusProviders.get(name) === provider) this.statusProviders.delete(name);
    };
  }

  /** The provider of status().extra[name], if any (a service may extend another's section). */
  statusProvider(name: string): (() => unknown) | undefined {
    return this.statusProviders.get(name);
  }

  status(): NodeStatus {
    const extra: Record<string, unknown> = {};
    for (const [name, provider] of this.statusProviders) {
      try {
        extra[name] = provider();
      } catch (err) {
        extra[name] = { error: errorMessage(err) };
      }
    }
    return {
      nodeId: toHex(this.nodeId),
      identity: toHex(this.keypair.identity),
      addr: this.running ? this.contact.addr : '',
      startedAt: this.startedAt,
      uptimeMs: this.startedAt === null ? 0 : this.components.clock.now() - this.startedAt,
      peersSeen: this.peers.size,
      requestsServed: this.router.servedByType(),
      requestsSent: Object.fromEntries(this.sent),
      identityMismatches: this.router.identityMismatches,
      extra,
    };
  }

  /** For logs. */
  toString(): string {
    return `MeshNode(${shortHex(this.nodeId)})`;
  }

  private tellPeerListeners(peer: PeerInfo): void {
    notifyListeners(this.peerListeners, this.components.logger, 'peer', peer);
  }

  private notePeer(peer: PeerInfo): void {
    // A transport may reuse one PeerInfo object per peer: skip the hex conversion then.
    if (this.peerObjects.has(peer)) return;
    this.peerObjects.add(peer);
    const before = this.peers.size;
    this.peers.add(toHex(peer.nodeId));
    if (this.peers.size !== before) this.peersGauge.set(this.peers.size);
  }
}

function failureResult(err: unknown): RequestResult {
  // Order matters: TimeoutError and AbortError are TransportErrors.
  if (err instanceof TimeoutError) return 'timeout';
  if (err instanceof AbortError) return 'aborted';
  if (err instanceof IdentityError) return 'identity';
  if (err instanceof TransportError) return 'transport';
  return 'error';
}
