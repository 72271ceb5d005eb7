/**
 * The raw "what is my address?" probe a NAT test server answers on its second UDP port (the
 * mapping test "same server, other port" needs an answer from a port that speaks no QUIC).
 *
 * Probe:  00 'Q' 'M' 'W' | nonce 16 | zero padding   (ADDR_PROBE_BYTES in all)
 * Answer: the NAT-test reply of raw-packets.ts (same nonce, the observed source address).
 *
 * The padding makes a probe at least as large as the biggest possible answer, so the second
 * port never amplifies traffic toward a spoofed source.
 */
import { DecodeError } from '../errors.js';
import { MAX_ADDR_BYTES } from '../wire/limits.js';
import { NAT_TEST_NONCE_BYTES } from './raw-packets.js';

export const ADDR_PROBE_MAGIC = Uint8Array.of(0x00, 0x51, 0x4d, 0x57); // \0QMW
/** Magic + nonce + the largest NAT-test reply's remaining bytes (length byte + address). */
export const ADDR_PROBE_BYTES = 4 + NAT_TEST_NONCE_BYTES + 1 + MAX_ADDR_BYTES;

export function isAddrProbe(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  for (let i = 0; i < 4; i++) if (bytes[i] !== ADDR_PROBE_MAGIC[i]) return false;
  return true;
}

export function encodeAddrProbe(nonce: Uint8Array): Uint8Array {
  if (!(nonce instanceof Uint8Array) || nonce.length !== NAT_TEST_NONCE_BYTES) {
    throw new DecodeError('AddrProbe.nonce', `must be ${NAT_TEST_NONCE_BYTES} bytes`);
  }
  const out = new Uint8Array(ADDR_PROBE_BYTES);
  out.set(ADDR_PROBE_MAGIC, 0);
  out.set(nonce, 4);
  return out;
}

/** Strict parse: the nonce of a well-formed probe; DecodeError naming the problem otherwise. */
export function parseAddrProbe(bytes: Uint8Array): Uint8Array {
  if (!isAddrProbe(bytes)) throw new DecodeError('AddrProbe.magic', 'not an address probe');
  if (bytes.length !== ADDR_PROBE_BYTES) {
    throw new DecodeError('AddrProbe', `expected ${ADDR_PROBE_BYTES} bytes, got ${bytes.length}`);
  }
  return bytes.slice(4, 4 + NAT_TEST_NONCE_BYTES);
}
