/**
 * quiche configuration for quicmesh connections: mutual TLS with our self-signed Ed25519
 * certificates (BoringSSL's chain check is allowed to fail, since there is no CA; the identity
 * check is ours, after the handshake), the DHT ALPN, idle timeout and flow-control windows.
 */
import { quiche, type Config } from '@matrixai/quic/native/index.js';
import { DHT_ALPN } from '../../constants.js';
import type { NodeCertificate } from '../../identity/cert.js';

/** Connection IDs we issue: the maximum, so short-header DCIDs always have this length. */
export const CID_LEN = 20;
/** Largest UDP payload we send or accept (quiche's default; safe under a 1500-byte MTU). */
export const MAX_UDP_PAYLOAD = 1350;
/**
 * Largest packet a connection over a relay sends: it travels inside a DATAGRAM frame of the
 * relay links (at most 1306 bytes at MAX_UDP_PAYLOAD, less the relay frame header), and QUIC
 * needs at least 1200 for Initials. The connection keeps this size after migrating to a direct path.
 */
export const RELAYED_UDP_PAYLOAD = 1252;
/** DATAGRAM frames (RFC 9221) queued per connection and direction before new ones are dropped. */
export const DATAGRAM_QUEUE = 256;
/** Bytes of receive buffer we offer per stream and per connection before the peer must wait. */
const STREAM_WINDOW = 4 * 1024 * 1024;
const CONNECTION_WINDOW = 16 * 1024 * 1024;
/** Concurrent streams the peer may open; quiche raises the limit again as streams complete. */
const MAX_STREAMS = 1000;
/**
 * Connection IDs we accept from the peer (for migration and path probing); quiche also keeps at most
 * this many paths. quiche 0.18 never frees a path whose peer address is gone (it keeps its connection
 * ID, and only paths without one are evicted), so every address a connection ever had — each NAT
 * rebinding of either side, each migration — costs one for the connection's life: with 4, the 4th
 * router reboot under a long-lived connection left it deaf (quickstart-reboot --repeat 5); 8 lasts 7.
 */
export const ACTIVE_CID_LIMIT = 8;

/**
 * quiche's congestion controllers. Default BBR: the binding hides each packet's pacing time
 * (SendInfo.at is an opaque handle), so we cannot pace; CUBIC and Reno then grow the window
 * until the receiver's socket buffer overflows (measured on loopback: 1.5-5% loss, 80-300
 * Mbit/s), while BBR keeps the data in flight near the path's bandwidth-delay product (no loss,
 * 1 ms RTT, 365-480 Mbit/s on the same run).
 */
export type CongestionControl = 'cubic' | 'reno' | 'bbr';

export interface QuicConfigOptions {
  cert: NodeCertificate;
  idleTimeoutMs: number;
  congestionControl?: CongestionControl;
  /** Largest packet sent; default MAX_UDP_PAYLOAD (RELAYED_UDP_PAYLOAD for connections over a relay). */
  maxSendPayload?: number;
}

/** One Config serves every connection of a transport (quiche copies what it needs per connection). */
export function buildQuicheConfig(opts: QuicConfigOptions): Config {
  const enc = new TextEncoder();
  // verifyPeer = true asks for (and checks the signature over) the peer's certificate on both
  // sides; verifyAllowFail lets the self-signed chain through BoringSSL's CA check.
  const config = quiche.Config.withBoringSslCtx(
    true,
    true,
    null,
    [enc.encode(opts.cert.keyPem)],
    [enc.encode(opts.cert.certPem)],
    'ed25519',
  );
  config.setApplicationProtos([DHT_ALPN]);
  config.setMaxIdleTimeout(opts.idleTimeoutMs);
  config.setMaxRecvUdpPayloadSize(MAX_UDP_PAYLOAD);
  config.setMaxSendUdpPayloadSize(opts.maxSendPayload ?? MAX_UDP_PAYLOAD);
  config.setInitialMaxData(CONNECTION_WINDOW);
  config.setInitialMaxStreamDataBidiLocal(STREAM_WINDOW);
  config.setInitialMaxStreamDataBidiRemote(STREAM_WINDOW);
  config.setInitialMaxStreamDataUni(STREAM_WINDOW);
  config.setInitialMaxStreamsBidi(MAX_STREAMS);
  config.setInitialMaxStreamsUni(MAX_STREAMS);
  config.setActiveConnectionIdLimit(ACTIVE_CID_LIMIT);
  config.setDisableActiveMigration(false);
  config.grease(true);
  // Relay links carry relayed connections' packets as DATAGRAM frames.
  config.enableDgram(true, DATAGRAM_QUEUE, DATAGRAM_QUEUE);
  config.setCcAlgorithmName(opts.congestionControl ?? 'bbr');
  return config;
}
