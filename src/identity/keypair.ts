/** Ed25519 node identity (spec: Keypair). The NodeId is derived, never chosen. */
import { ed25519 } from '@noble/curves/ed25519.js';
import { ConfigError } from '../errors.js';
import type { Identity, NodeId } from '../core/types.js';
import { nodeIdFromPublicKey } from './node-id.js';

/** An Ed25519 keypair: signs, and names the node (NodeId = BLAKE3 of the public key). */
export class Keypair {
  private readonly secret: Uint8Array;
  private readonly publicKey: Uint8Array;
  private cachedNodeId: NodeId | undefined;

  private constructor(secret: Uint8Array) {
    this.secret = secret;
    this.publicKey = ed25519.getPublicKey(secret);
  }

  /** A fresh keypair. `seed` (32 bytes) makes it deterministic, for tests and the simulator. */
  static generate(seed?: Uint8Array): Keypair {
    return new Keypair(seed ? Uint8Array.from(seed) : ed25519.utils.randomSecretKey());
  }

  /** Restore from the 32-byte secret key returned by `secretKeyBytes()`. */
  static fromSecretKeyBytes(secret: Uint8Array): Keypair {
    if (secret.length !== 32) throw new ConfigError(`Ed25519 secret key must be 32 bytes, got ${secret.length}`);
    return new Keypair(Uint8Array.from(secret));
  }

  get nodeId(): NodeId {
    return (this.cachedNodeId ??= nodeIdFromPublicKey(this.publicKey));
  }

  /** The public key: the peer's identity in the spec's sense. */
  get identity(): Identity {
    return this.publicKey;
  }

  publicKeyBytes(): Uint8Array {
    return Uint8Array.from(this.publicKey);
  }

  secretKeyBytes(): Uint8Array {
    return Uint8Array.from(this.secret);
  }

  sign(message: Uint8Array): Uint8Array {
    return ed25519.sign(message, this.secret);
  }

  verify(message: Uint8Array, signature: Uint8Array): boolean {
    return verifySignature(this.publicKey, message, signature);
  }
}

/** Verify an Ed25519 signature; false (never a throw) on malformed input. */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return ed25519.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}
