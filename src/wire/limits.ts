/**
 * Wire limits enforced by the codec on both encode and decode. Anything longer is refused with a
 * DecodeError naming the field, so a peer can never make us allocate more than a frame's worth.
 */
import { MAX_FRAME_SIZE, MAX_VALUE_SIZE } from '../constants.js';

/** "host:port" strings (contact addresses, observed addresses): bytes. */
export const MAX_ADDR_BYTES = 64;
/** Pubsub topic names: bytes of UTF-8, at least 1. */
export const MAX_TOPIC_BYTES = 256;
/** Contact lists (Nodes.nodes, Value.closer, Prune.peers). */
export const MAX_CONTACTS = 64;
/** Address lists (hole punching, ReachMe, endpoint records). */
export const MAX_ADDRS = 16;
/** Message-id lists (IHave/IWant). The frame limit may bind first. */
export const MAX_IDS = 5000;
/** One pubsub message id: bytes (1..). */
export const MAX_MESSAGE_ID_BYTES = 64;
/** Relay session ids and path-probe nonces: bytes (1..). */
export const MAX_SESSION_ID_BYTES = 32;
export const MAX_NONCE_BYTES = 32;
/** Free-text reasons and error messages: bytes of UTF-8. */
export const MAX_TEXT_BYTES = 512;
/** Machine-readable error codes: bytes, at least 1. */
export const MAX_ERROR_CODE_BYTES = 64;
/** Stored DHT values. */
export const MAX_STORE_VALUE_BYTES = MAX_VALUE_SIZE;
/** Opaque payloads (relay forwarding, pubsub data); the whole message must still fit a frame. */
export const MAX_PAYLOAD_BYTES = MAX_FRAME_SIZE;
/** A QUIC Initial forwarded in a hole punch's messages: bytes (RFC 9000's 1,200-byte minimum .. one datagram). */
export const MIN_FORWARDED_INITIAL_BYTES = 1_200;
export const MAX_FORWARDED_INITIAL_BYTES = 1_500;
/** Network coordinates: |x|, |y| and height (ms) at most this (a minute: beyond any real RTT). */
export const MAX_COORD_MS = 60_000;
/** Network coordinates: relative error estimate in 0..this. */
export const MAX_COORD_ERROR = 1.5;
/** An encoded message, header included. */
export const MAX_MESSAGE_BYTES = MAX_FRAME_SIZE;

// host: bracketed IPv6 (optional zone) or a DNS name / IPv4 literal; port: 1..65535 without leading zeros.
const HOST_PORT =
  /^(?:\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.~-]+)?\]|[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?):([1-9][0-9]{0,4})$/;

/** True when `s` looks like "host:port" (IPv6 hosts in brackets) and fits MAX_ADDR_BYTES. */
export function isHostPort(s: string): boolean {
  if (s.length > MAX_ADDR_BYTES) return false;
  const m = HOST_PORT.exec(s);
  return m !== null && Number(m[1]) <= 65535;
}
