/**
 * The one seam between protocol logic and the network (the spec's `DhtNetwork`). Implemented by
 * the in-memory transport (tests, simulator: virtual time, latency, loss) and by the QUIC
 * transport (real nodes). A compliance suite in test/ runs against both.
 *
 * Identity: every remote peer is presented as a `PeerInfo` whose `nodeId` the transport has
 * verified (QUIC: from the peer's TLS certificate). The node layer then checks each request's
 * `from.id` against it.
 */
import type { NodeId } from '../core/types.js';
import type { CapabilitySet } from './capabilities.js';
import type { Message, MessageOf, MessageType, Request, RequestOf, RequestType, Response } from '../wire/messages.js';

/** A remote peer as authenticated by the transport. */
export interface PeerInfo {
  nodeId: NodeId;
  /** Ed25519 public key from the peer's certificate. */
  publicKey: Uint8Array;
  /** The address ("host:port") the peer's packets come from, as seen by us (reflexive). */
  addr: string;
}

/** Where to send: an address, and optionally the NodeId we expect to find there (refused on mismatch). */
export interface Target {
  addr: string;
  nodeId?: NodeId;
}

/** Per-request options: deadline and abort signal. */
export interface RequestOptions {
  /** Deadline for the whole exchange (dial + request + response). Defaults to the transport's. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A response together with the authenticated identity of who gave it. */
export interface Reply<R extends Response = Response> {
  from: PeerInfo;
  msg: R;
}

/** Serves one request type for an authenticated peer (what a node's dispatch and its services use). */
export type RequestHandler<T extends RequestType = RequestType> = (
  peer: PeerInfo,
  msg: RequestOf<T>,
) => Promise<Response> | Response;

/** Receives one one-way message type from an authenticated peer. */
export type NotifyHandler<T extends MessageType = MessageType> = (peer: PeerInfo, msg: MessageOf<T>) => void;

/** What a transport calls on the node: serve a request, take a one-way message, report a bad frame. */
export interface TransportHandlers {
  /** Serve one request; the returned response is sent back. Throwing sends an `Error` reply. */
  onRequest(peer: PeerInfo, msg: Request): Promise<Response> | Response;
  /** A one-way message arrived (no reply expected). */
  onNotify?(peer: PeerInfo, msg: Message): void;
  /** A frame could not be decoded; the transport has already dropped it. For logs and metrics. */
  onBadFrame?(peerAddr: string, error: Error): void;
}

/** How a node talks to peers: requests and one-way messages to verified NodeIds (QUIC, or in memory). */
export interface Transport {
  readonly localNodeId: NodeId;
  /** The bound address ("host:port"); valid after `start()`. */
  readonly localAddr: string;

  /** Bind and begin serving `handlers`. */
  start(handlers: TransportHandlers): Promise<void>;

  /** Send a request and await its response. Rejects with TimeoutError, AbortError, TransportError, IdentityError. */
  request(target: Target, msg: Request, opts?: RequestOptions): Promise<Reply>;

  /** Send a one-way message; resolves when handed to the network (no delivery guarantee). */
  notify(target: Target, msg: Message, opts?: RequestOptions): Promise<void>;

  /** Stop serving, close every connection and the socket; nothing is left running afterwards. */
  close(): Promise<void>;

  /** What it can do beyond this interface; ask with `capability(transport, name)` (capabilities.ts). */
  readonly capabilities?: CapabilitySet;
}
