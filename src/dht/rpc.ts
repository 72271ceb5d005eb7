/**
 * What the DHT needs from the node layer, as a structural interface: our own contact, a way to
 * send a request and get the verified reply, and a way to serve a request type. MeshNode
 * (src/node/mesh-node.ts) has exactly this shape; tests use a small fake. The node layer has
 * already checked each request's `from.id` against the transport-authenticated peer.
 */
import type { Contact, NodeId } from '../core/types.js';
import type { Reply, RequestHandler, RequestOptions, Target } from '../transport/transport.js';
import type { Request, RequestType } from '../wire/messages.js';

/** A node's handler for one request type (transport.ts). */
export type DhtRequestHandler<T extends RequestType> = RequestHandler<T>;

export interface RpcEndpoint {
  /** This node as others dial it (read only when sending, so it may need a started transport). */
  readonly contact: Contact;
  /** Our NodeId, readable before the transport starts (MeshNode has it); else `contact.id` is used. */
  readonly nodeId?: NodeId;
  /** Send `msg`, resolve with the reply; reject (TimeoutError, TransportError, RemoteError, ...) on failure. */
  request(target: Target, msg: Request, opts?: RequestOptions): Promise<Reply>;
  /** Serve requests of `type`. */
  handle<T extends RequestType>(type: T, handler: DhtRequestHandler<T>): void;
}
