/**
 * What the traversal drivers need of the node they run on, as a structural interface (the pattern
 * of src/dht/rpc.ts): MeshNode (src/node/mesh-node.ts) has this shape, and the composition root
 * hands it in. Declared here so imports run one way: node → traversal, never back.
 */
import type { Components } from '../core/components.js';
import type { Contact, NodeId } from '../core/types.js';
import type { Keypair } from '../identity/keypair.js';
import type {
  NotifyHandler,
  PeerInfo,
  Reply,
  RequestHandler,
  RequestOptions,
  Target,
  Transport,
} from '../transport/transport.js';
import type { Message, MessageType, Request, RequestType, Response, SuccessResponse } from '../wire/messages.js';

/** What the NAT traversal drivers need of a node (a MeshNode fits): identity, transport, requests, handlers, status. */
export interface TraversalNode {
  readonly keypair: Keypair;
  readonly nodeId: NodeId;
  /** This node as others dial it (valid once started). */
  readonly contact: Contact;
  readonly transport: Transport;
  readonly components: Components;
  /** Send a request; an Error reply is thrown as RemoteError. */
  request(target: Target, msg: Request, opts?: RequestOptions): Promise<Reply<SuccessResponse>>;
  /** Send a one-way message. */
  notify(target: Target, msg: Message, opts?: RequestOptions): Promise<void>;
  /** Serve one request type. */
  handle<T extends RequestType>(type: T, handler: RequestHandler<T>): void;
  /** Receive one one-way message type. */
  onNotify<T extends MessageType>(type: T, handler: NotifyHandler<T>): void;
  /** Answer a request as if it had arrived from `peer` (relay tunnels deliver requests this way). */
  dispatch(peer: PeerInfo, msg: Request): Promise<Response> | Response;
  /** Hear of every peer that sends us a request or a message; returns the remover. */
  onPeerSeen(listener: (peer: PeerInfo) => void): () => void;
  /** Put our address on the network now in our contact (null: the transport's own). */
  setAdvertisedAddr(addr: string | null): void;
  /** Contribute a section to the node's status; returns the remover. */
  addStatusProvider(name: string, provider: () => unknown): () => void;
  /** The provider of a status section, if any (a service may extend another's). */
  statusProvider(name: string): (() => unknown) | undefined;
}
