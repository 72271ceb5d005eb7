/**
 * What NAT traversal needs from a transport beyond the Transport interface (capabilities a
 * transport declares, see capabilities.ts):
 * - ConnectionControl: explicit connects, the state of the connection to a peer, events about
 *   connections, migration to another path. QuicTransport and the in-memory transport have it
 *   (the latter without paths to migrate between).
 * - RelayedPathTransport: DATAGRAM frames (the relay data plane) and paths through relays, so a
 *   QUIC connection can run over a relay session. QuicTransport only; on other transports relay
 *   sessions carry request tunnels instead (src/traversal/relay-link.ts).
 */
import type { NodeId } from '../core/types.js';
import type { PeerInfo, RequestOptions, Target } from './transport.js';

/** What carries a relayed path's packets (a relay session). */
export interface PacketCarrier {
  /** Hand one QUIC packet to the relay (best effort, like UDP). The bytes may be reused afterwards: copy them. */
  send(packet: Uint8Array): void;
}

/** A path through a relay session: the stand-in address to dial, and its inbound side. */
export interface RelayedPath {
  /** Stand-in address ("0.x.y.z:1"): dial it with the peer's NodeId to open a connection over the relay. */
  readonly addr: string;
  /** Hand the transport one packet that came through the relay. */
  deliver(packet: Uint8Array): void;
  /** Forget the path (the relay session ended); a connection still on it times out or migrates. */
  close(): void;
}

/** A connection change, for the services that track paths (connection manager, relay sessions). */
export interface ConnectionChange {
  kind: 'ready' | 'moved' | 'closed';
  nodeId: NodeId;
  /** The peer's address now (a stand-in "0.x.y.z:1" while relayed). */
  addr: string;
  /** For 'moved': where it was before. */
  previous?: string;
  relayed: boolean;
  /** True when we opened the connection (only that side can migrate it). */
  opener: boolean;
}

/** The state of the preferred connection to one peer. */
export interface PathInfo {
  addr: string;
  relayed: boolean;
  opener: boolean;
  rttMs: number | null;
}

/** Options of ConnectionControl.connect (a request's, plus first-flight repeats for hole punching). */
export interface ConnectOptions extends RequestOptions {
  /** Resend a new dial's first flight every `intervalMs` for `forMs` (hole punching). */
  repeatInitial?: { intervalMs: number; forMs: number };
}

/** A transport that carries unreliable DATAGRAM frames on its connections. */
export interface DatagramTransport {
  /** Send one DATAGRAM frame to `nodeId` on its connection; false when there is none or it cannot take it. */
  sendDatagram(nodeId: NodeId, data: Uint8Array): boolean;
  /** Receive DATAGRAM frames from verified peers; returns the remover. */
  onDatagram(listener: (peer: PeerInfo, data: Uint8Array) => void): () => void;
}

/** The peer of a verified connection, and when that connection first heard from it. */
export interface ConnectedPeer extends PeerInfo {
  /**
   * When the connection's first datagram from the peer arrived (the transport's clock, ms); null
   * when the transport cannot tell. Says whether the peer answered a dial before it punched.
   */
  firstHeardAt: number | null;
}

/** A transport whose connections can be opened, migrated, inspected and closed. */
export interface ConnectionControl {
  /** A verified connection to `target` (reused when one exists). */
  connect(target: Target, opts?: ConnectOptions): Promise<ConnectedPeer>;
  /** Move the connection to `nodeId` (one we opened) onto `addr`; streams carry on. */
  migrate(nodeId: NodeId, addr: string, opts?: { timeoutMs?: number }): Promise<void>;
  pathInfo(nodeId: NodeId): PathInfo | undefined;
  /** Peers with a verified connection now. */
  connectedPeers(): NodeId[];
  onConnectionChange(listener: (change: ConnectionChange) => void): () => void;
  /** Close every connection to `nodeId`. */
  disconnect(nodeId: NodeId): void;
  /**
   * The first flight of our dial to `addr` (one datagram, nothing heard back yet), to forward
   * through a hole punch's rendezvous (HolePunchStart.initial); the dial then follows the peer's
   * answer to the port it comes from, once the handshake proved it. Undefined when there is no such dial.
   */
  forwardFirstFlight?(addr: string): Uint8Array | undefined;
}

/** A transport that runs QUIC over a relay session (a packet carrier). */
export interface RelayedPathTransport extends DatagramTransport, ConnectionControl {
  openRelayedPath(carrier: PacketCarrier): RelayedPath;
}
