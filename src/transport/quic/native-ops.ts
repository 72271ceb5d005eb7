/**
 * Calls on quiche's native connection that QuicConnection makes as they are: DATAGRAM frames
 * (RFC 9221) in and out, and the peer's identity from its certificate. Each never throws: the
 * binding throws for states quiche merely reports (nothing to read, not established), and those
 * become false / null / an IdentityError here.
 */
import type { Connection } from '@matrixai/quic/native/index.js';
import { bytesEqual, shortHex } from '../../core/bytes.js';
import type { NodeId } from '../../core/types.js';
import { IdentityError } from '../../errors.js';
import { extractPublicKeyFromCert } from '../../identity/cert.js';
import { nodeIdFromPublicKey } from '../../identity/node-id.js';

/** Queue one DATAGRAM frame; false when it cannot go (too big, queue full, no DATAGRAM support). */
export function queueDatagram(native: Connection, data: Uint8Array): boolean {
  try {
    if (native.isDgramSendQueueFull()) return false;
    const max = native.dgramMaxWritableLen();
    if (max === null || data.length > max) return false;
    native.dgramSend(data);
    return true;
  } catch {
    return false;
  }
}

/** Largest DATAGRAM payload the current path takes, or null when the peer has none. */
export function maxDatagramLen(native: Connection): number | null {
  try {
    return native.dgramMaxWritableLen();
  } catch {
    return null;
  }
}

/** Hand every DATAGRAM frame received to `deliver`, oldest first. */
export function drainDatagrams(native: Connection, deliver: (data: Uint8Array) => void): void {
  for (;;) {
    let d: Uint8Array | null;
    try {
      d = native.dgramRecvVec();
    } catch {
      return;
    }
    if (d === null) return;
    deliver(d);
  }
}

/**
 * Who the peer is, from the certificate it proved it holds the key of: its Ed25519 key and NodeId,
 * or why it is refused (no certificate, not Ed25519, not `expected`).
 */
export function peerIdentity(native: Connection, expected: NodeId | undefined, addr: string): { nodeId: NodeId; publicKey: Uint8Array } | IdentityError {
  const chain = native.peerCertChain();
  let publicKey: Uint8Array;
  try {
    if (!chain || chain.length === 0) throw new IdentityError('peer presented no certificate');
    publicKey = extractPublicKeyFromCert(chain[0]!);
  } catch (e) {
    return e instanceof IdentityError ? e : new IdentityError(`peer certificate refused: ${(e as Error).message}`);
  }
  const nodeId = nodeIdFromPublicKey(publicKey);
  if (expected && !bytesEqual(nodeId, expected)) {
    return new IdentityError(`expected node ${shortHex(expected)} at ${addr}, found ${shortHex(nodeId)}`);
  }
  return { nodeId, publicKey };
}
