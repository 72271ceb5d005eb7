/** Small helpers for the 32-byte identifiers and byte strings used everywhere. */
import { hexToBytes } from '@noble/hashes/utils.js';

/**
 * Lowercase hex. Native and flat: a string built by concatenation stays a tree of 32 small strings
 * when used as a Map key, which costs ~1 KB per id across thousands of simulated nodes.
 */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes from a hex string. */
export function fromHex(hex: string): Uint8Array {
  return hexToBytes(hex);
}

/** Constant-time byte comparison. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** The concatenation of byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Short form of an id for logs and tables. */
export function shortHex(bytes: Uint8Array, chars = 8): string {
  return toHex(bytes.subarray(0, Math.ceil(chars / 2))).slice(0, chars);
}
