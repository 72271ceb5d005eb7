/**
 * One node's endpoint on a MemoryNetwork, implementing the Transport contract: request/response
 * matched by id, deadlines and cancellation through the network's clock and AbortSignal, and
 * identity checked against the registered NodeId (the network's stand-in for TLS).
 *
 * Kept lean for the simulator: the pending-request table holds plain records, a synchronous
 * handler is answered without any Promise, and the only per-request closures are the promise
 * executor, the deadline timer and (when a signal is given) the abort listener.
 */
import { bytesEqual, fromHex, shortHex, toHex } from '../../core/bytes.js';
import type { TimerHandle } from '../../core/clock.js';
import type { NodeId } from '../../core/types.js';
import { AbortError, IdentityError, ProtocolError, TimeoutError, TransportError, errorMessage } from '../../errors.js';
import { decodeMessage, encodeMessage } from '../../wire/codec.js';
import { isRequest, type ErrorReply, type Message, type Request, type Response } from '../../wire/messages.js';
import type { CapabilitySet } from '../capabilities.js';
import type { ConnectedPeer, ConnectionChange, ConnectionControl, ConnectOptions, PathInfo } from '../paths.js';
import type { PeerInfo, Reply, RequestOptions, Target, Transport, TransportHandlers } from '../transport.js';
import type { MemoryNetwork } from './network.js';
import {
  PACKET_HANDSHAKE_REJECT,
  PACKET_NOTIFY,
  PACKET_REQUEST,
  PACKET_RESPONSE,
  type Packet,
} from './packet.js';

interface PendingRequest {
  resolve: (reply: Reply) => void;
  reject: (err: Error) => void;
  timer: TimerHandle | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  expected: NodeId | undefined;
  addr: string;
}

const STATE_NEW = 0;
const STATE_STARTED = 1;
const STATE_CLOSED = 2;

/** A Transport on a MemoryNetwork: the same contract as QUIC, for tests and simulations. */
export class MemoryTransport implements Transport, ConnectionControl {
  readonly localNodeId: NodeId;
  /** What it can do beyond requests (src/transport/capabilities.ts): no paths to migrate between, no raw I/O. */
  readonly capabilities: CapabilitySet = { connectionControl: this };
  readonly publicKey: Uint8Array;
  readonly localAddr: string;
  /** How receivers see this transport: fixed at creation, like a TLS certificate. Shared, read-only. */
  readonly peerInfo: PeerInfo;

  private readonly network: MemoryNetwork;
  private handlers: TransportHandlers | undefined;
  private state = STATE_NEW;
  private nextId = 1;
  private readonly pending = new Map<number, PendingRequest>();
  /** Peers that answered connect(), by hex NodeId → the address they answered at. */
  private readonly known = new Map<string, string>();
  private readonly changeListeners = new Set<(change: ConnectionChange) => void>();

  /** Use MemoryNetwork.createTransport(). */
  constructor(network: MemoryNetwork, nodeId: NodeId, publicKey: Uint8Array, addr: string) {
    this.network = network;
    this.localNodeId = nodeId;
    this.publicKey = publicKey;
    this.localAddr = addr;
    this.peerInfo = Object.freeze({ nodeId, publicKey, addr });
  }

  get started(): boolean {
    return this.state === STATE_STARTED;
  }

  /** Requests awaiting a response. */
  get pendingCount(): number {
    return this.pending.size;
  }

  async start(handlers: TransportHandlers): Promise<void> {
    if (this.state === STATE_CLOSED) throw new TransportError('transport is closed');
    if (this.state === STATE_STARTED) throw new TransportError('transport already started');
    this.network.bind(this);
    this.handlers = handlers;
    this.state = STATE_STARTED;
  }

  request(target: Target, msg: Request, opts?: RequestOptions): Promise<Reply> {
    if (this.state !== STATE_STARTED) {
      return Promise.reject(new TransportError(this.state === STATE_CLOSED ? 'transport is closed' : 'transport not started'));
    }
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(new AbortError(`request ${msg.type} to ${target.addr} aborted`));
    let bytes: Uint8Array | undefined;
    if (this.network.encode) {
      try {
        bytes = encodeMessage(msg);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const id = this.nextId++;
    const timeoutMs = opts?.timeoutMs ?? this.network.defaultTimeoutMs;
    return new Promise<Reply>((resolve, reject) => {
      const p: PendingRequest = {
        resolve,
        reject,
        timer: undefined,
        signal,
        onAbort: undefined,
        expected: target.nodeId,
        addr: target.addr,
      };
      this.pending.set(id, p);
      p.timer = this.network.clock.setTimer(timeoutMs, () =>
        this.fail(id, new TimeoutError(`request ${msg.type} to ${target.addr} timed out after ${timeoutMs} ms`)),
      );
      if (signal) {
        p.onAbort = () => this.fail(id, new AbortError(`request ${msg.type} to ${target.addr} aborted`));
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.network.send({
        kind: PACKET_REQUEST,
        from: this,
        toAddr: target.addr,
        id,
        expected: target.nodeId,
        msg: bytes ? undefined : msg,
        bytes,
      });
    });
  }

  /** Handed to the network at once; a wrong Target.nodeId makes the receiver drop it. */
  async notify(target: Target, msg: Message, opts?: RequestOptions): Promise<void> {
    if (this.state !== STATE_STARTED) {
      throw new TransportError(this.state === STATE_CLOSED ? 'transport is closed' : 'transport not started');
    }
    if (opts?.signal?.aborted) throw new AbortError(`notify ${msg.type} to ${target.addr} aborted`);
    const bytes = this.network.encode ? encodeMessage(msg) : undefined;
    this.network.send({
      kind: PACKET_NOTIFY,
      from: this,
      toAddr: target.addr,
      id: 0,
      expected: target.nodeId,
      msg: bytes ? undefined : msg,
      bytes,
    });
  }

  // --- connection control (src/transport/paths.ts) -------------------------------------------
  // This transport holds no connections (each request stands alone); "connected" means a peer
  // answered connect() (a Ping, standing in for a handshake) and was not disconnected since.

  /** A Ping exchange with `target`: resolves with the peer that answered (first heard: its Pong). */
  async connect(target: Target, opts?: ConnectOptions): Promise<ConnectedPeer> {
    const reply = await this.request(target, { type: 'Ping', from: { id: this.localNodeId, addr: this.localAddr } }, opts);
    const firstHeardAt = this.network.clock.now();
    const key = toHex(reply.from.nodeId);
    const fresh = !this.known.has(key);
    this.known.set(key, target.addr);
    if (fresh) this.emit({ kind: 'ready', nodeId: reply.from.nodeId, addr: target.addr, relayed: false, opener: true });
    return { ...reply.from, firstHeardAt };
  }

  pathInfo(nodeId: NodeId): PathInfo | undefined {
    const addr = this.known.get(toHex(nodeId));
    return addr === undefined ? undefined : { addr, relayed: false, opener: true, rttMs: null };
  }

  connectedPeers(): NodeId[] {
    return [...this.known.keys()].map(fromHex);
  }

  onConnectionChange(listener: (change: ConnectionChange) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** There are no paths to move between here. */
  migrate(nodeId: NodeId, addr: string): Promise<void> {
    return Promise.reject(new TransportError(`the in-memory transport cannot migrate (to ${addr} for ${toHex(nodeId).slice(0, 8)})`));
  }

  /** Forget `nodeId` as connected; requests in flight are left to finish. */
  disconnect(nodeId: NodeId): void {
    const key = toHex(nodeId);
    const addr = this.known.get(key);
    if (addr === undefined) return;
    this.known.delete(key);
    this.emit({ kind: 'closed', nodeId, addr, relayed: false, opener: true });
  }

  private emit(change: ConnectionChange): void {
    for (const l of this.changeListeners) l(change);
  }

  /** Idempotent. Pending requests fail with TransportError; the address stops answering. */
  async close(): Promise<void> {
    if (this.state === STATE_CLOSED) return;
    this.state = STATE_CLOSED;
    this.network.unbind(this);
    this.handlers = undefined;
    const ids = [...this.pending.keys()];
    for (const id of ids) this.fail(id, new TransportError('transport closed'));
  }

  /** @internal the network delivers a packet addressed to us. */
  receive(pkt: Packet): void {
    if (this.state !== STATE_STARTED) return;
    switch (pkt.kind) {
      case PACKET_REQUEST:
        this.onRequestPacket(pkt);
        break;
      case PACKET_RESPONSE:
      case PACKET_HANDSHAKE_REJECT:
        this.onReplyPacket(pkt);
        break;
      case PACKET_NOTIFY:
        this.onNotifyPacket(pkt);
        break;
    }
  }

  private onRequestPacket(pkt: Packet): void {
    if (pkt.expected !== undefined && !bytesEqual(pkt.expected, this.localNodeId)) {
      // The caller expected another node here: refuse before serving anything, as a TLS check would.
      this.sendReply(pkt, PACKET_HANDSHAKE_REJECT, undefined);
      return;
    }
    const msg = this.open(pkt);
    if (msg === undefined) return;
    if (!isRequest(msg)) {
      this.handlers?.onBadFrame?.(pkt.from.localAddr, new ProtocolError(`${msg.type} is not a request`));
      return;
    }
    const handlers = this.handlers!;
    let result: Promise<Response> | Response;
    try {
      result = handlers.onRequest(pkt.from.peerInfo, msg);
    } catch (err) {
      this.sendReply(pkt, PACKET_RESPONSE, internalError(err));
      return;
    }
    if (isPromiseLike(result)) {
      result.then(
        (res) => this.sendReply(pkt, PACKET_RESPONSE, res),
        (err: unknown) => this.sendReply(pkt, PACKET_RESPONSE, internalError(err)),
      );
    } else {
      this.sendReply(pkt, PACKET_RESPONSE, result);
    }
  }

  private sendReply(req: Packet, kind: number, res: Response | undefined): void {
    if (this.state !== STATE_STARTED) return; // closed while the handler ran
    let bytes: Uint8Array | undefined;
    if (res !== undefined && this.network.encode) {
      try {
        bytes = encodeMessage(res);
      } catch (err) {
        res = { type: 'Error', code: 'Internal', message: `response could not be encoded: ${errorMessage(err)}` };
        bytes = encodeMessage(res);
      }
    }
    this.network.send({
      kind,
      from: this,
      toAddr: req.from.localAddr,
      id: req.id,
      expected: undefined,
      msg: bytes ? undefined : res,
      bytes,
    });
  }

  private onReplyPacket(pkt: Packet): void {
    const p = this.pending.get(pkt.id);
    if (p === undefined) return; // timed out, aborted, or a stray duplicate
    const actual = pkt.from.localNodeId;
    if (p.expected !== undefined && !bytesEqual(p.expected, actual)) {
      this.fail(
        pkt.id,
        new IdentityError(`expected node ${shortHex(p.expected)} at ${p.addr}, found ${shortHex(actual)}`),
      );
      return;
    }
    if (pkt.kind === PACKET_HANDSHAKE_REJECT) return; // cannot happen without an expectation; ignore
    const msg = this.open(pkt);
    if (msg === undefined) return; // undecodable: the request will time out
    this.settle(pkt.id, p);
    p.resolve({ from: pkt.from.peerInfo, msg: msg as Response });
  }

  private onNotifyPacket(pkt: Packet): void {
    if (pkt.expected !== undefined && !bytesEqual(pkt.expected, this.localNodeId)) return;
    const msg = this.open(pkt);
    if (msg === undefined) return;
    const handlers = this.handlers;
    if (handlers?.onNotify === undefined) return;
    try {
      handlers.onNotify(pkt.from.peerInfo, msg);
    } catch {
      // A notification has no reply path; the handler owns its own error reporting.
    }
  }

  /** The packet's message, decoding it when the network encodes; undefined (reported) on a bad frame. */
  private open(pkt: Packet): Message | undefined {
    if (pkt.bytes === undefined) return pkt.msg;
    try {
      return decodeMessage(pkt.bytes);
    } catch (err) {
      this.handlers?.onBadFrame?.(pkt.from.localAddr, err instanceof Error ? err : new ProtocolError(String(err)));
      return undefined;
    }
  }

  private fail(id: number, err: Error): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.settle(id, p);
    p.reject(err);
  }

  private settle(id: number, p: PendingRequest): void {
    this.pending.delete(id);
    p.timer?.cancel();
    if (p.signal && p.onAbort) p.signal.removeEventListener('abort', p.onAbort);
  }
}

function isPromiseLike<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

function internalError(err: unknown): ErrorReply {
  return { type: 'Error', code: 'Internal', message: errorMessage(err) };
}
