/**
 * XOR-metric helpers for 256-bit identifiers (Kademlia). Byte 0 is the most significant byte, so
 * comparing distances is a byte-by-byte walk that stops at the first differing byte and never
 * allocates: lookups and routing-table scans call these millions of times in the simulator.
 *
 * Bucket numbering: bucket `i` holds the contacts whose XOR distance from us has its highest set
 * bit at position `i` (0 = least significant), i.e. distance in [2^i, 2^(i+1)). So bucket 255 is
 * the far half of the id space and `bucketIndex = 255 - commonPrefixLength`.
 */
import type { Rng } from '../core/rng.js';
import { ID_BITS } from '../constants.js';
import { ConfigError } from '../errors.js';

export const ID_LENGTH = ID_BITS / 8;

/** The XOR distance `a ^ b` as bytes (allocates; use compareDistance in hot paths). */
export function xorDistance(a: Uint8Array, b: Uint8Array): Uint8Array {
  checkSameLength(a, b);
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/**
 * Sign of `d(target, a) - d(target, b)`: negative when `a` is closer to `target` than `b`, zero
 * when equally close (which for XOR means a == b). Allocation-free.
 */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  const n = target.length;
  for (let i = 0; i < n; i++) {
    const t = target[i]!;
    const da = a[i]! ^ t;
    const db = b[i]! ^ t;
    if (da !== db) return da < db ? -1 : 1;
  }
  return 0;
}

/** Number of leading bits `a` and `b` share (256 when equal). */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + (Math.clz32(x) - 24);
  }
  return n * 8;
}

/**
 * The bucket `other` falls into in `self`'s routing table: position of the highest set bit of the
 * distance, 0..255. Returns -1 when `other` equals `self` (we never store ourselves).
 */
export function bucketIndex(self: Uint8Array, other: Uint8Array): number {
  return ID_BITS - 1 - commonPrefixLength(self, other);
}

/** Value (0/1) of bit `i` of an id, bit 0 being the least significant bit of the last byte. */
export function bitAt(id: Uint8Array, i: number): number {
  return (id[id.length - 1 - (i >> 3)]! >> (i & 7)) & 1;
}

/**
 * A uniformly random id that falls into bucket `i` of `self`'s table: same bits as `self` above
 * position i, bit i flipped, random bits below. Used for bucket refresh lookups.
 */
export function randomIdInBucket(self: Uint8Array, i: number, rng: Rng): Uint8Array {
  if (!Number.isInteger(i) || i < 0 || i >= self.length * 8) {
    throw new ConfigError(`bucket index must be an integer in 0..${self.length * 8 - 1}, got ${i}`);
  }
  const out = Uint8Array.from(self);
  const byte = self.length - 1 - (i >> 3);
  const bit = i & 7;
  const noise = rng.bytes(self.length);
  // Bits below position `bit` of the pivot byte, and every byte after it, are random.
  const lowMask = (1 << bit) - 1;
  out[byte] = ((self[byte]! ^ (1 << bit)) & ~lowMask & 0xff) | (noise[byte]! & lowMask);
  for (let j = byte + 1; j < self.length; j++) out[j] = noise[j]!;
  return out;
}

function checkSameLength(a: Uint8Array, b: Uint8Array): void {
  if (a.length !== b.length) throw new ConfigError(`ids differ in length: ${a.length} vs ${b.length}`);
}
