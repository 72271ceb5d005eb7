import fc from 'fast-check';
import { blake3 } from '@noble/hashes/blake3.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { ConfigError } from '../../src/errors.js';
import {
  deriveNodeId,
  hashContent,
  Keypair,
  nodeIdFromPublicKey,
  verifyKeyValuePair,
  verifyNodeId,
  verifySignature,
} from '../../src/identity/index.js';

// RFC 8032 section 7.1, test 1.
const RFC_SECRET = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
const RFC_PUBLIC = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const RFC_SIG_EMPTY =
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';
// BLAKE3(RFC_PUBLIC), computed once with @noble/hashes' blake3.
const RFC_NODE_ID = '6c31041268f471609c79f5f2dbcc38e4a4ab2f4d416109a4e09fcf50fd0f0062';
// The BLAKE3 reference vectors for "" and "abc".
const BLAKE3_EMPTY = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262';
const BLAKE3_ABC = '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85';

const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const flip = (b: Uint8Array, i: number): Uint8Array => {
  const out = Uint8Array.from(b);
  out[i % out.length] = out[i % out.length]! ^ 1;
  return out;
};

describe('Keypair', () => {
  it('matches the RFC 8032 vector', () => {
    const kp = Keypair.fromSecretKeyBytes(RFC_SECRET);
    expect(toHex(kp.publicKeyBytes())).toBe(RFC_PUBLIC);
    expect(toHex(kp.identity)).toBe(RFC_PUBLIC);
    expect(toHex(kp.sign(new Uint8Array(0)))).toBe(RFC_SIG_EMPTY);
    expect(kp.verify(new Uint8Array(0), fromHex(RFC_SIG_EMPTY))).toBe(true);
  });

  it('derives NodeId = BLAKE3(public key)', () => {
    const kp = Keypair.fromSecretKeyBytes(RFC_SECRET);
    expect(toHex(kp.nodeId)).toBe(RFC_NODE_ID);
    expect(kp.nodeId).toEqual(blake3(fromHex(RFC_PUBLIC)));
    expect(verifyNodeId(kp.nodeId, kp.publicKeyBytes())).toBe(true);
  });

  it('generates fresh, distinct keypairs without a seed', () => {
    const a = Keypair.generate();
    const b = Keypair.generate();
    expect(a.publicKeyBytes()).toHaveLength(32);
    expect(a.secretKeyBytes()).toHaveLength(32);
    expect(a.nodeId).not.toEqual(b.nodeId);
  });

  it('is deterministic for a seed and restores from its secret key', () => {
    fc.assert(
      fc.property(seedArb, (seed) => {
        const a = Keypair.generate(seed);
        expect(Keypair.generate(seed).nodeId).toEqual(a.nodeId);
        const restored = Keypair.fromSecretKeyBytes(a.secretKeyBytes());
        expect(restored.nodeId).toEqual(a.nodeId);
        expect(restored.publicKeyBytes()).toEqual(a.publicKeyBytes());
      }),
      { seed: 11, numRuns: 40 },
    );
  });

  it('does not share its key buffers with callers', () => {
    const seed = new Uint8Array(32).fill(5);
    const kp = Keypair.generate(seed);
    const id = toHex(kp.nodeId);
    seed.fill(0);
    kp.secretKeyBytes().fill(0);
    kp.publicKeyBytes().fill(0);
    expect(toHex(Keypair.fromSecretKeyBytes(kp.secretKeyBytes()).nodeId)).toBe(id);
  });

  it('signs and verifies; any change to message, signature or key fails', () => {
    fc.assert(
      fc.property(seedArb, fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.nat(), (seed, msg, i) => {
        const kp = Keypair.generate(seed);
        const sig = kp.sign(msg);
        expect(sig).toHaveLength(64);
        expect(kp.verify(msg, sig)).toBe(true);
        expect(verifySignature(kp.publicKeyBytes(), msg, sig)).toBe(true);
        expect(kp.verify(flip(msg, i), sig)).toBe(false);
        expect(kp.verify(msg, flip(sig, i))).toBe(false);
        expect(verifySignature(flip(kp.publicKeyBytes(), i), msg, sig)).toBe(false);
      }),
      { seed: 12, numRuns: 25 },
    );
  });

  it('verifySignature returns false (never throws) on malformed input', () => {
    const kp = Keypair.generate(new Uint8Array(32).fill(1));
    const sig = kp.sign(Uint8Array.of(1));
    expect(verifySignature(kp.publicKeyBytes().subarray(0, 31), Uint8Array.of(1), sig)).toBe(false);
    expect(verifySignature(kp.publicKeyBytes(), Uint8Array.of(1), sig.subarray(0, 63))).toBe(false);
    expect(verifySignature(new Uint8Array(32).fill(0xff), Uint8Array.of(1), sig)).toBe(false);
    expect(verifySignature(kp.publicKeyBytes(), Uint8Array.of(1), new Uint8Array(64).fill(0xff))).toBe(false);
  });

  it('refuses a secret key of the wrong length with ConfigError', () => {
    for (const n of [0, 16, 31, 33, 64]) {
      expect(() => Keypair.fromSecretKeyBytes(new Uint8Array(n))).toThrow(ConfigError);
    }
  });
});

describe('NodeId and content keys', () => {
  it('hashContent is BLAKE3 (reference vectors)', () => {
    expect(toHex(hashContent(new Uint8Array(0)))).toBe(BLAKE3_EMPTY);
    expect(toHex(hashContent(new TextEncoder().encode('abc')))).toBe(BLAKE3_ABC);
    expect(toHex(deriveNodeId(new TextEncoder().encode('abc')))).toBe(BLAKE3_ABC);
  });

  it('verifyNodeId is false on any mismatch', () => {
    fc.assert(
      fc.property(seedArb, fc.nat(), (seed, i) => {
        const kp = Keypair.generate(seed);
        expect(nodeIdFromPublicKey(kp.publicKeyBytes())).toEqual(kp.nodeId);
        expect(verifyNodeId(kp.nodeId, kp.publicKeyBytes())).toBe(true);
        expect(verifyNodeId(flip(kp.nodeId, i), kp.publicKeyBytes())).toBe(false);
        expect(verifyNodeId(kp.nodeId, flip(kp.publicKeyBytes(), i))).toBe(false);
        expect(verifyNodeId(kp.nodeId.subarray(0, 31), kp.publicKeyBytes())).toBe(false);
      }),
      { seed: 13, numRuns: 30 },
    );
  });

  it('verifyKeyValuePair accepts exactly the content hash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (value, i) => {
        const key = hashContent(value);
        expect(verifyKeyValuePair(key, value)).toBe(true);
        expect(verifyKeyValuePair(flip(key, i), value)).toBe(false);
        if (value.length > 0) expect(verifyKeyValuePair(key, flip(value, i))).toBe(false);
        expect(verifyKeyValuePair(key.subarray(1), value)).toBe(false);
      }),
      { seed: 14, numRuns: 300 },
    );
  });
});
