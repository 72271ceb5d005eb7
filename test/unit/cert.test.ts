import { X509Certificate, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { DecodeError, IdentityError, QuicmeshError } from '../../src/errors.js';
import { extractPublicKeyFromCert, generateEd25519Cert, nodeIdFromCert, verifyPeerIdentity } from '../../src/identity/cert.js';
import { bits, oid, seq, uint, utf8, set, explicit } from '../../src/identity/der.js';
import { Keypair } from '../../src/identity/keypair.js';

const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n);

describe('generateEd25519Cert', () => {
  const kp = Keypair.generate(seed(1));
  const cert = generateEd25519Cert(kp);

  it('is a self-signed X.509 v3 certificate node:crypto parses and verifies', () => {
    const x = new X509Certificate(cert.certDer);
    expect(x.subject).toBe(`CN=${toHex(kp.publicKeyBytes())}`);
    expect(x.issuer).toBe(x.subject);
    expect(x.publicKey.asymmetricKeyType).toBe('ed25519');
    expect(x.verify(x.publicKey)).toBe(true); // signed with the node's own key
    expect(x.ca).toBe(false);
    expect(new Date(x.validFrom).getTime()).toBeLessThan(Date.UTC(2025, 0, 1));
    expect(new Date(x.validTo).getUTCFullYear()).toBe(9999);
    // The PEM form is the same certificate.
    expect(new X509Certificate(cert.certPem).raw.equals(Buffer.from(cert.certDer))).toBe(true);
  });

  it('carries the keypair: the SPKI key is the node key and the PEM private key signs for it', () => {
    const x = new X509Certificate(cert.certDer);
    const spki = x.publicKey.export({ format: 'der', type: 'spki' });
    expect(toHex(spki.subarray(spki.length - 32))).toBe(toHex(kp.publicKeyBytes()));
    const priv = createPrivateKey(cert.keyPem);
    expect(priv.asymmetricKeyType).toBe('ed25519');
    const msg = Buffer.from('hello');
    const sig = sign(null, msg, priv);
    expect(kp.verify(msg, sig)).toBe(true);
    expect(verify(null, msg, createPublicKey(priv), kp.sign(msg))).toBe(true);
  });

  it('is deterministic for a keypair and differs between keypairs', () => {
    expect(toHex(generateEd25519Cert(Keypair.generate(seed(1))).certDer)).toBe(toHex(cert.certDer));
    expect(toHex(generateEd25519Cert(Keypair.generate(seed(2))).certDer)).not.toBe(toHex(cert.certDer));
  });
});

describe('extractPublicKeyFromCert / verifyPeerIdentity', () => {
  const kp = Keypair.generate(seed(3));
  const other = Keypair.generate(seed(4));
  const der = generateEd25519Cert(kp).certDer;

  it('returns the 32-byte key and binds the NodeId', () => {
    expect(toHex(extractPublicKeyFromCert(der))).toBe(toHex(kp.publicKeyBytes()));
    expect(toHex(nodeIdFromCert(der))).toBe(toHex(kp.nodeId));
    expect(verifyPeerIdentity(der, kp.nodeId)).toBe(true);
  });

  it('refuses a certificate for another key', () => {
    expect(verifyPeerIdentity(generateEd25519Cert(other).certDer, kp.nodeId)).toBe(false);
    expect(verifyPeerIdentity(der, other.nodeId)).toBe(false);
    expect(verifyPeerIdentity(der, kp.nodeId.subarray(0, 31))).toBe(false);
  });

  it('throws DecodeError on garbage and truncation, never anything untyped', () => {
    expect(() => extractPublicKeyFromCert(new Uint8Array(0))).toThrow(DecodeError);
    expect(() => extractPublicKeyFromCert(Uint8Array.of(0x30, 0x82, 0xff, 0xff))).toThrow(DecodeError);
    expect(() => extractPublicKeyFromCert(der.subarray(0, der.length - 1))).toThrow(DecodeError);
    expect(() => extractPublicKeyFromCert(Uint8Array.of(...der, 0))).toThrow(/trailing/);
    expect(verifyPeerIdentity(new Uint8Array(10), kp.nodeId)).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        try {
          extractPublicKeyFromCert(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(QuicmeshError);
        }
        expect(verifyPeerIdentity(bytes, kp.nodeId)).toBe(false);
      }),
      { seed: 42, numRuns: 500 },
    );
    // Bit flips anywhere in a real certificate: typed error or a different key, never a crash.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: der.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const bad = Uint8Array.from(der);
        bad[i]! ^= x;
        try {
          extractPublicKeyFromCert(bad);
        } catch (e) {
          expect(e).toBeInstanceOf(QuicmeshError);
        }
      }),
      { seed: 7, numRuns: 500 },
    );
  });

  it('throws IdentityError for a well-formed certificate whose key is not Ed25519', () => {
    // Same shape, but the SPKI algorithm is id-ecPublicKey.
    const name = seq(set(seq(oid('2.5.4.3'), utf8('x'))));
    const tbs = seq(
      explicit(0, uint(Uint8Array.of(2))),
      uint(Uint8Array.of(1)),
      seq(oid('1.3.101.112')),
      name,
      seq(),
      name,
      seq(seq(oid('1.2.840.10045.2.1')), bits(new Uint8Array(65))),
    );
    const fake = seq(tbs, seq(oid('1.3.101.112')), bits(new Uint8Array(64)));
    expect(() => extractPublicKeyFromCert(fake)).toThrow(IdentityError);
    expect(verifyPeerIdentity(fake, kp.nodeId)).toBe(false);
  });
});
