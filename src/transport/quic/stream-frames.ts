/**
 * The wire pieces of quicmesh streams: the stream type byte, application error codes, frame
 * builders, and the mapping of quiche's stream errors to our error types.
 */
import { MAX_FRAME_SIZE } from '../../constants.js';
import { DecodeError, TransportError } from '../../errors.js';

/** First byte of every stream. */
export const STREAM_TYPE_REQUEST = 0x00;
export const STREAM_TYPE_RAW = 0x01;

/** Application error codes on RESET_STREAM / STOP_SENDING / CONNECTION_CLOSE. */
export const APP_ERR = {
  NO_ERROR: 0,
  IDENTITY: 1,
  BAD_FRAME: 2,
  CANCELLED: 3,
  INTERNAL: 4,
  SHUTDOWN: 5,
} as const;

/** [type u8][len u32][payload] */
export function typedFrame(type: number, payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_FRAME_SIZE) {
    throw new DecodeError('frame.length', `payload of ${payload.length} bytes exceeds ${MAX_FRAME_SIZE}`);
  }
  const out = new Uint8Array(5 + payload.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, payload.length);
  out.set(payload, 5);
  return out;
}

export function lengthFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

/** Turn quiche's "StreamReset(7)" / "StreamStopped(7)" into a TransportError naming the code. */
export function streamError(id: number, e: unknown, dir: 'read' | 'write'): Error {
  const msg = e instanceof Error ? e.message : String(e);
  const m = /^Stream(Reset|Stopped)\((\d+)\)$/.exec(msg);
  if (m) {
    const what = m[1] === 'Reset' ? 'reset' : 'stopped';
    return new TransportError(`stream ${id} ${what} by peer (code ${m[2]}${codeName(Number(m[2]))})`);
  }
  return new TransportError(`stream ${id} ${dir} failed: ${msg}`, { cause: e });
}

function codeName(code: number): string {
  const entry = Object.entries(APP_ERR).find(([, v]) => v === code);
  return entry ? ` ${entry[0]}` : '';
}
