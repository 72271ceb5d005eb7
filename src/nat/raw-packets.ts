/**
 * Raw (non-QUIC) datagrams sent from the node's QUIC socket: NAT filtering test replies, and
 * encoded wire messages (hole punching's ICE checks: IceCheck / PathReply). The QUIC transport
 * hands a datagram to its raw hook when the first byte has the fixed bit 0x40 clear (a QUIC v1
 * packet always has it set). A NAT-test reply opens with 0x00 and a three-letter magic; an encoded
 * wire message with WIRE_VERSION = 0x01. Neither looks like QUIC.
 *
 * NAT test:   00 'Q' 'M' 'T' | nonce 16 | observed-addr length u8 | observed addr (UTF-8 host:port)
 *
 * Nothing raw is authenticated: a forged ICE check at worst makes us dial an address where the
 * QUIC handshake then fails the NodeId check; a forged NAT-test reply can only skew a classification.
 */
import { DecodeError } from '../errors.js';
import { isHostPort, MAX_ADDR_BYTES } from '../wire/limits.js';

export const NAT_TEST_MAGIC = Uint8Array.of(0x00, 0x51, 0x4d, 0x54); // \0QMT
export const NAT_TEST_NONCE_BYTES = 16;

export interface NatTestReply {
  nonce: Uint8Array;
  /** Where the sender saw our request come from (our reflexive address). */
  observedAddr: string;
}

export type RawKind = 'nat-test' | 'message' | 'unknown';

/** Which raw format a datagram is, by its first bytes (cheap: for dispatch in the raw hook). */
export function classifyRaw(bytes: Uint8Array): RawKind {
  if (bytes.length >= 4 && startsWith(bytes, NAT_TEST_MAGIC)) return 'nat-test';
  if (bytes.length >= 2 && bytes[0] === 0x01) return 'message';
  return 'unknown';
}

function startsWith(bytes: Uint8Array, magic: Uint8Array): boolean {
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic[i]) return false;
  return true;
}

function need(cond: boolean, field: string, msg: string): asserts cond {
  if (!cond) throw new DecodeError(field, msg);
}

export function encodeNatTestReply(r: NatTestReply): Uint8Array {
  need(r.nonce instanceof Uint8Array && r.nonce.length === NAT_TEST_NONCE_BYTES, 'NatTestReply.nonce', 'must be 16 bytes');
  need(typeof r.observedAddr === 'string' && isHostPort(r.observedAddr), 'NatTestReply.observedAddr', 'not host:port');
  const addr = new TextEncoder().encode(r.observedAddr);
  const out = new Uint8Array(4 + NAT_TEST_NONCE_BYTES + 1 + addr.length);
  out.set(NAT_TEST_MAGIC, 0);
  out.set(r.nonce, 4);
  out[20] = addr.length;
  out.set(addr, 21);
  return out;
}

export function parseNatTestReply(bytes: Uint8Array): NatTestReply {
  need(bytes instanceof Uint8Array, 'NatTestReply', 'expected bytes');
  need(bytes.length >= 21, 'NatTestReply', `truncated: ${bytes.length} bytes`);
  need(startsWith(bytes, NAT_TEST_MAGIC), 'NatTestReply.magic', 'not a NAT test reply');
  const len = bytes[20]!;
  need(len >= 1 && len <= MAX_ADDR_BYTES, 'NatTestReply.observedAddr', `length ${len} out of 1..${MAX_ADDR_BYTES}`);
  need(bytes.length === 21 + len, 'NatTestReply', `expected ${21 + len} bytes, got ${bytes.length}`);
  let observedAddr: string;
  try {
    observedAddr = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(21));
  } catch {
    throw new DecodeError('NatTestReply.observedAddr', 'invalid UTF-8');
  }
  need(isHostPort(observedAddr), 'NatTestReply.observedAddr', `${JSON.stringify(observedAddr)} is not host:port`);
  return { nonce: bytes.slice(4, 20), observedAddr };
}
