/** Why a QUIC connection closed, as the error its waiters and the transport's listeners get. */
import type { Connection } from '@matrixai/quic/native/index.js';
import { quiche } from '@matrixai/quic/native/index.js';
import { IdentityError, TimeoutError, TransportError } from '../../errors.js';
import { APP_ERR } from './streams.js';

/** The reason quiche holds for a closed connection to `addr`; `verified`: the handshake had completed. */
export function closeReason(native: Connection, addr: string, verified: boolean): Error {
  if (native.isTimedOut()) {
    return verified ? new TransportError(`connection to ${addr} timed out (peer silent)`) : new TimeoutError(`handshake with ${addr} timed out`);
  }
  const pe = native.peerError();
  if (pe) {
    if (pe.isApp && pe.errorCode === APP_ERR.IDENTITY) return new IdentityError(`peer ${addr} refused our identity`);
    if (!pe.isApp && pe.errorCode >= quiche.CRYPTO_ERROR_START && pe.errorCode <= quiche.CRYPTO_ERROR_STOP) {
      return new TransportError(`TLS handshake with ${addr} failed (alert ${pe.errorCode - quiche.CRYPTO_ERROR_START})`);
    }
    return new TransportError(`peer ${addr} closed the connection (${pe.isApp ? 'app' : 'transport'} code ${pe.errorCode})`);
  }
  const le = native.localError();
  if (le) return new TransportError(`connection to ${addr} failed (${le.isApp ? 'app' : 'transport'} code ${le.errorCode})`);
  return new TransportError(`connection to ${addr} closed`);
}
