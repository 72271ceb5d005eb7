/**
 * What a transport can do beyond the Transport interface: one optional capability per ability, and
 * one way to ask for it — `capability(transport, 'rawDatagrams')`, undefined when the transport
 * has not got it. A transport lists what it has in `Transport.capabilities` (the compiler checks
 * that each entry implements its interface): QuicTransport has them all, the in-memory transport
 * connection control. Services ask here instead of probing for methods.
 */
import type { NodeId } from '../core/types.js';
import type { ConnectionControl, DatagramTransport, RelayedPathTransport } from './paths.js';
import type { PeerInfo, RequestOptions, Target, Transport } from './transport.js';

/** Non-QUIC datagrams on the transport's own socket (hole punching, NAT probes). */
export interface RawDatagrams {
  /** Send one datagram from the socket; its first byte must have bit 0x40 clear (else peers parse it as QUIC). */
  sendRawDatagram(bytes: Uint8Array, host: string, port: number): void;
  /** Receive the non-QUIC datagrams arriving on the socket; returns the remover. */
  onRawDatagram(listener: (data: Uint8Array, from: { host: string; port: number }) => void): () => void;
  /**
   * A peer's first QUIC Initial that a rendezvous forwarded (HolePunchReady.initial): handled as if it
   * had come from `host:port`. 'known': that connection exists already; 'refused': not a usable Initial.
   */
  acceptForwardedInitial?(datagram: Uint8Array, host: string, port: number): 'accepted' | 'known' | 'refused';
}

/**
 * A raw bidirectional byte stream for bulk data, callback-based: `write` returns false once too
 * much waits for the network, then `ondrain` fires.
 */
export interface ByteStream {
  readonly peer: PeerInfo;
  ondata: ((chunk: Uint8Array) => void) | undefined;
  onend: (() => void) | undefined;
  onerror: ((err: Error) => void) | undefined;
  ondrain: (() => void) | undefined;
  write(chunk: Uint8Array): boolean;
  /** Send FIN after everything written. */
  end(): void;
  /** Abort both directions. */
  reset(code?: number): void;
}

/** Raw byte streams to and from peers, beside the request streams. */
export interface ByteStreams {
  /** Open a stream to `target`; the far side gets it through its `onStream` handler. */
  openStream(target: Target, opts?: RequestOptions): Promise<ByteStream>;
  /** Receive the streams peers open (without a handler they are reset). */
  onStream(handler: (stream: ByteStream) => void): void;
}

/** Disconnecting that waits until the closed connections can send nothing more. */
export interface DrainingDisconnect {
  /** Close every connection to `nodeId`; resolve true once all are released, false at the deadline. */
  disconnectAndDrain(nodeId: NodeId, timeoutMs?: number): Promise<boolean>;
}

/** Hints that a peer stopped sending in the middle of a stream to us (our NAT may have forgotten us). */
export interface PeerSilence {
  /** Hear of each such silence (the first early keep-alive went out); returns the remover. */
  onPeerSilent(listener: (peer: PeerInfo) => void): () => void;
}

/** Every optional transport capability, under the name `capability(transport, name)` asks for. */
export interface TransportCapabilities {
  /** Explicit connects, path state and events, migration (src/transport/paths.ts). */
  connectionControl: ConnectionControl;
  /** DATAGRAM frames on verified connections (the relay data plane). */
  datagrams: DatagramTransport;
  /** QUIC connections over relay sessions. */
  relayedPaths: RelayedPathTransport;
  rawDatagrams: RawDatagrams;
  streams: ByteStreams;
  drainingDisconnect: DrainingDisconnect;
  peerSilence: PeerSilence;
}

/** The name of a transport capability. */
export type CapabilityName = keyof TransportCapabilities;

/** What a transport declares it can do. */
export type CapabilitySet = { readonly [K in CapabilityName]?: TransportCapabilities[K] };

/** The transport's `name` capability, or undefined when it has not got it. */
export function capability<K extends CapabilityName>(transport: Transport, name: K): TransportCapabilities[K] | undefined {
  return transport.capabilities?.[name];
}
