/** What a QuicConnection needs from its transport, and the types it shares with it. */
import type { Config } from '@matrixai/quic/native/index.js';
import type { Components } from '../../core/components.js';
import type { Logger } from '../../core/logger.js';
import type { ConnectOptions } from '../paths.js';
import type { QuicConnection } from './connection.js';
import type { UdpEndpoint } from './endpoint.js';
import type { StreamServices } from './streams.js';

/** What a connection needs from its transport. */
export interface ConnectionOwner {
  readonly endpoint: UdpEndpoint;
  readonly components: Components;
  readonly log: Logger;
  readonly services: StreamServices;
  readonly config: Config;
  /** ms of silence mid-stream before an early keep-alive (SilenceProbe), and the regular keep-alive period. */
  readonly silence: { afterMs: number; untilMs: number };
  /** Config of connections over a relay (smaller packets: see RELAYED_UDP_PAYLOAD). */
  readonly relayedConfig: Config;
  /** A DATAGRAM frame arrived on a verified connection. */
  datagramReceived(conn: QuicConnection, data: Uint8Array): void;
  /** The peer's identity is verified: index the connection. */
  connectionReady(conn: QuicConnection): void;
  /** The connection can no longer be used (closing, closed, refused). Called once. */
  connectionClosed(conn: QuicConnection, reason: Error): void;
  /** The peer's address changed (NAT rebinding, migration). */
  connectionMoved(conn: QuicConnection, oldAddr: string): void;
  /** Draining is over: no timer, no route left. Called once, after connectionClosed. */
  connectionReleased(conn: QuicConnection): void;
}

export type ConnectionState = 'handshake' | 'ready' | 'closed';

/**
 * repeatInitial: hole punching. The first copies may die at the peer's NAT until its own punch
 * opened it, and quiche's own retransmission would wait a full PTO (about a second).
 */
export type DialOptions = Pick<ConnectOptions, 'repeatInitial'>;
