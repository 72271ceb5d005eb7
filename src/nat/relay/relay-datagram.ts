/**
 * The relay data plane's frame: one QUIC packet of a relayed connection, carried in a DATAGRAM
 * frame (RFC 9221) of the link between a node and its relay, and forwarded unchanged by the relay
 * to the session's other party over that party's link.
 *
 *   [kind u8 = 0x01 packet][session id length u8, 1..32][session id][packet bytes]
 *
 * The relay checks the sender is a member of an active session (by the link's TLS-verified
 * NodeId) and meters the bytes against the session's bandwidth; it never looks inside the packet,
 * which is end-to-end encrypted by the relayed QUIC connection. This is the fast path of the
 * spec's RelayForward: no per-packet reply (QUIC recovers losses end to end), no stream per packet.
 */
import { DecodeError } from '../../errors.js';
import { MAX_SESSION_ID_BYTES } from '../../wire/limits.js';

export const RELAY_FRAME_PACKET = 0x01;
/** Header bytes before the packet, for a session id of `sessionIdLength` bytes. */
export const relayFrameOverhead = (sessionIdLength: number): number => 2 + sessionIdLength;

export interface RelayFrame {
  sessionId: Uint8Array;
  packet: Uint8Array;
}

export function encodeRelayFrame(sessionId: Uint8Array, packet: Uint8Array): Uint8Array {
  if (sessionId.length < 1 || sessionId.length > MAX_SESSION_ID_BYTES) {
    throw new DecodeError('RelayFrame.sessionId', `length ${sessionId.length} outside 1..${MAX_SESSION_ID_BYTES}`);
  }
  const out = new Uint8Array(relayFrameOverhead(sessionId.length) + packet.length);
  out[0] = RELAY_FRAME_PACKET;
  out[1] = sessionId.length;
  out.set(sessionId, 2);
  out.set(packet, 2 + sessionId.length);
  return out;
}

/** Parse a frame (views into `bytes`, no copy); DecodeError names what is wrong. */
export function decodeRelayFrame(bytes: Uint8Array): RelayFrame {
  if (bytes.length < 3) throw new DecodeError('RelayFrame', `${bytes.length} bytes is too short`);
  if (bytes[0] !== RELAY_FRAME_PACKET) throw new DecodeError('RelayFrame.kind', `unknown kind ${bytes[0]}`);
  const len = bytes[1]!;
  if (len < 1 || len > MAX_SESSION_ID_BYTES) throw new DecodeError('RelayFrame.sessionId', `length ${len} outside 1..${MAX_SESSION_ID_BYTES}`);
  if (bytes.length <= 2 + len) throw new DecodeError('RelayFrame.packet', 'empty');
  return { sessionId: bytes.subarray(2, 2 + len), packet: bytes.subarray(2 + len) };
}
