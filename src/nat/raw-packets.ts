/**
 * Raw (non-QUIC) datagrams sent from the node's QUIC socket: hole-punch packets and NAT filtering
 * test replies. The QUIC transport hands a datagram to its raw hook when the first byte has the
 * fixed bit 0x40 clear (a QUIC v1 packet always has it set); both formats open with 0x00 and a
 * three-letter magic, so they never look like QUIC and never like an encoded wire message
 * (whose first byte is WIRE_VERSION = 0x01, also raw-safe: PathProbe can travel that way).
 *
 * Punch:      00 'Q' 'M' 'P' | flags u8 (bit 0 = ack) | nonce 8 | echo 8 | sender NodeId 32   (53 bytes)
 * NAT test:   00 'Q' 'M' 'T' | nonce 16 | observed-addr length u8 | observed addr (UTF-8 host:port)
 *
 * Neither is authenticated: a forged punch at worst makes us dial an address where the QUIC
 * handshake then fails the NodeId check; a forged NAT-test reply can only skew a classification.
 */
import { bytesEqual } from '../core/bytes.js';
import type { NodeId } from '../core/types.js';
import { DecodeError } from '../errors.js';
import { isHostPort, MAX_ADDR_BYTES } from '../wire/limits.js';

export const PUNCH_MAGIC = Uint8Array.of(0x00, 0x51, 0x4d, 0x50); // \0QMP
export const NAT_TEST_MAGIC = Uint8Array.of(0x00, 0x51, 0x4d, 0x54); // \0QMT
export const PUNCH_NONCE_BYTES = 8;
export const PUNCH_PACKET_BYTES = 4 + 1 + 8 + 8 + 32;
export const NAT_TEST_NONCE_BYTES = 16;
const FLAG_ACK = 0x01;

export interface PunchPacket {
  /** True for an answer: "your punch `echo` reached me at the address I am sending to". */
  ack: boolean;
  nonce: Uint8Array;
  /** The nonce of the punch being acknowledged (zeros when `ack` is false). */
  echo: Uint8Array;
  sender: NodeId;
}

export interface NatTestReply {
  nonce: Uint8Array;
  /** Where the sender saw our request come from (our reflexive address). */
  observedAddr: string;
}

export type RawKind = 'punch' | 'nat-test' | 'message' | 'unknown';

/** Which raw format a datagram is, by its first bytes (cheap: for dispatch in the raw hook). */
export function classifyRaw(bytes: Uint8Array): RawKind {
  if (bytes.length >= 4 && startsWith(bytes, PUNCH_MAGIC)) return 'punch';
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

export function encodePunch(p: PunchPacket): Uint8Array {
  need(p.nonce instanceof Uint8Array && p.nonce.length === PUNCH_NONCE_BYTES, 'Punch.nonce', 'must be 8 bytes');
  need(p.echo instanceof Uint8Array && p.echo.length === PUNCH_NONCE_BYTES, 'Punch.echo', 'must be 8 bytes');
  need(p.sender instanceof Uint8Array && p.sender.length === 32, 'Punch.sender', 'must be a 32-byte NodeId');
  const out = new Uint8Array(PUNCH_PACKET_BYTES);
  out.set(PUNCH_MAGIC, 0);
  out[4] = p.ack ? FLAG_ACK : 0;
  out.set(p.nonce, 5);
  out.set(p.echo, 13);
  out.set(p.sender, 21);
  return out;
}

/** Strict parse; throws DecodeError naming the field. */
export function parsePunch(bytes: Uint8Array): PunchPacket {
  need(bytes instanceof Uint8Array, 'Punch', 'expected bytes');
  need(bytes.length === PUNCH_PACKET_BYTES, 'Punch', `expected ${PUNCH_PACKET_BYTES} bytes, got ${bytes.length}`);
  need(startsWith(bytes, PUNCH_MAGIC), 'Punch.magic', 'not a punch packet');
  const flags = bytes[4]!;
  need((flags & ~FLAG_ACK) === 0, 'Punch.flags', `unknown flag bits 0x${flags.toString(16)}`);
  const echo = bytes.slice(13, 21);
  const ack = flags === FLAG_ACK;
  need(ack || echo.every((b) => b === 0), 'Punch.echo', 'must be zero when ack is not set');
  return { ack, nonce: bytes.slice(5, 13), echo, sender: bytes.slice(21, 53) };
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

/** True when `a` is an ack for the punch nonce `ours`. */
export function acknowledges(p: PunchPacket, ours: Uint8Array): boolean {
  return p.ack && bytesEqual(p.echo, ours);
}
