/**
 * The node's TLS identity: a self-signed X.509 v3 certificate carrying its Ed25519 public key,
 * built by hand as DER. QUIC's TLS handshake proves the peer holds the private key of the
 * certificate it presents (CertificateVerify), so the certificate needs no CA: we read the key
 * out of it and derive the NodeId (BLAKE3 of the key) ourselves.
 *
 * The certificate is deterministic for a keypair (fixed validity, serial derived from the key,
 * Ed25519 signatures are deterministic) and reads no clock.
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesEqual, toHex } from '../core/bytes.js';
import type { NodeId } from '../core/types.js';
import { DecodeError, IdentityError } from '../errors.js';
import type { Keypair } from './keypair.js';
import { nodeIdFromPublicKey } from './node-id.js';
import { TAG, bits, bool, children, expect, explicit, octets, oid, readElement, seq, set, time, tlv, uint, utf8 } from './der.js';

/** The Ed25519 algorithm OID (RFC 8410). */
export const ED25519_OID = '1.3.101.112';
/** DER of the AlgorithmIdentifier for Ed25519 (OID, no parameters). */
const ED25519_ALG_ID = seq(oid(ED25519_OID));
const ED25519_OID_DER = oid(ED25519_OID);

const OID_COMMON_NAME = '2.5.4.3';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';

/** Validity: from a fixed past date to RFC 5280's "no well-defined expiration" value. */
const NOT_BEFORE = new Date(Date.UTC(2024, 0, 1));
const NOT_AFTER = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));

/** A node's self-signed Ed25519 TLS certificate and key, as DER and PEM. */
export interface NodeCertificate {
  /** The certificate as DER. */
  certDer: Uint8Array;
  /** The certificate as PEM ("CERTIFICATE"). */
  certPem: string;
  /** The private key as PKCS#8 PEM ("PRIVATE KEY"). */
  keyPem: string;
}

/** A self-signed X.509 v3 certificate for `keypair`, with the hex public key as subject CN. */
export function generateEd25519Cert(keypair: Keypair): NodeCertificate {
  const publicKey = keypair.publicKeyBytes();
  const name = seq(set(seq(oid(OID_COMMON_NAME), utf8(toHex(publicKey)))));
  // Serial: 16 bytes derived from the key, top bit cleared so it is positive without padding.
  const serial = blake3(publicKey).slice(0, 16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const extensions = explicit(
    3,
    seq(
      seq(oid(OID_BASIC_CONSTRAINTS), bool(true), octets(seq())), // critical, cA = false
      // critical, digitalSignature only: BIT STRING with 7 unused bits, value 0x80
      seq(oid(OID_KEY_USAGE), bool(true), octets(tlv(TAG.BIT_STRING, Uint8Array.of(7, 0x80)))),
    ),
  );
  const tbs = seq(
    explicit(0, uint(Uint8Array.of(2))), // version v3
    uint(serial),
    ED25519_ALG_ID,
    name, // issuer = subject: self-signed
    seq(time(NOT_BEFORE), time(NOT_AFTER)),
    name,
    seq(ED25519_ALG_ID, bits(publicKey)),
    extensions,
  );
  const certDer = seq(tbs, ED25519_ALG_ID, bits(keypair.sign(tbs)));
  // PKCS#8 OneAsymmetricKey (RFC 8410): version 0, algorithm, OCTET STRING { OCTET STRING seed }.
  const pkcs8 = seq(uint(Uint8Array.of(0)), ED25519_ALG_ID, octets(octets(keypair.secretKeyBytes())));
  return { certDer, certPem: toPem('CERTIFICATE', certDer), keyPem: toPem('PRIVATE KEY', pkcs8) };
}

/**
 * The 32-byte Ed25519 public key in a certificate's SubjectPublicKeyInfo. Throws DecodeError on
 * malformed DER, IdentityError when the key is not Ed25519.
 */
export function extractPublicKeyFromCert(der: Uint8Array): Uint8Array {
  const cert = expect(der, 0, TAG.SEQUENCE, 'cert');
  if (cert.raw.length !== der.length) throw new DecodeError('cert', 'trailing bytes after the certificate');
  const [tbsEl] = children(cert, 'cert');
  if (!tbsEl || tbsEl.tag !== TAG.SEQUENCE) throw new DecodeError('cert.tbsCertificate', 'missing');
  const tbs = children(tbsEl, 'cert.tbsCertificate');
  // Optional [0] version, then serial, signature, issuer, validity, subject, subjectPublicKeyInfo.
  const base = tbs[0]?.tag === 0xa0 ? 1 : 0;
  const spkiEl = tbs[base + 5];
  if (!spkiEl || spkiEl.tag !== TAG.SEQUENCE) throw new DecodeError('cert.subjectPublicKeyInfo', 'missing');
  const spki = children(spkiEl, 'cert.subjectPublicKeyInfo');
  const alg = spki[0];
  const key = spki[1];
  if (!alg || alg.tag !== TAG.SEQUENCE || !key || key.tag !== TAG.BIT_STRING) {
    throw new DecodeError('cert.subjectPublicKeyInfo', 'expected SEQUENCE { algorithm, BIT STRING }');
  }
  const algOid = readElement(alg.contents, 0, 'cert.subjectPublicKeyInfo.algorithm');
  if (!bytesEqual(algOid.raw, ED25519_OID_DER)) {
    throw new IdentityError('certificate key is not Ed25519 (OID 1.3.101.112)');
  }
  if (key.contents.length !== 33 || key.contents[0] !== 0) {
    throw new DecodeError('cert.subjectPublicKeyInfo.subjectPublicKey', `expected 32 key bytes, got ${key.contents.length - 1}`);
  }
  return Uint8Array.from(key.contents.subarray(1));
}

/** The NodeId a certificate binds (BLAKE3 of its Ed25519 key). Throws like extractPublicKeyFromCert. */
export function nodeIdFromCert(der: Uint8Array): NodeId {
  return nodeIdFromPublicKey(extractPublicKeyFromCert(der));
}

/** True when `certDer` carries the Ed25519 key whose NodeId is `claimedNodeId`. Never throws. */
export function verifyPeerIdentity(certDer: Uint8Array, claimedNodeId: NodeId): boolean {
  try {
    return claimedNodeId.length === 32 && bytesEqual(nodeIdFromCert(certDer), claimedNodeId);
  } catch {
    return false; // garbage certificate: not the claimed identity
  }
}

function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
