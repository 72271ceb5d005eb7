/**
 * How the serving side turns handler results into reply payloads, and small helpers of the
 * transport facade.
 */
import { AbortError, IdentityError, TimeoutError } from '../../errors.js';
import { encodeMessage } from '../../wire/codec.js';
import type { Response } from '../../wire/messages.js';

/** Encode a handler's response; one that breaks a wire rule becomes an Error reply instead. */
export function encodeReply(res: Response): Uint8Array {
  try {
    return encodeMessage(res);
  } catch (e) {
    return encodeMessage({ type: 'Error', code: 'BadResponse', message: clip((e as Error).message, 400) });
  }
}

/** A thrown error as an Error reply: code = the error's string `code`, else its class name. */
export function encodeErrorReply(e: unknown): Uint8Array {
  const err = e instanceof Error ? e : new Error(String(e));
  const own = (err as { code?: unknown }).code;
  const code = clip(typeof own === 'string' && own.length > 0 ? own : err.name || 'Error', 64);
  return encodeMessage({ type: 'Error', code, message: clip(err.message, 400) });
}

/** Cut to at most `max` UTF-8 bytes (on a character boundary). */
function clip(s: string, max: number): string {
  const enc = new TextEncoder();
  if (enc.encode(s).length <= max) return s;
  let out = s.slice(0, max);
  while (enc.encode(out).length > max) out = out.slice(0, -1);
  return out;
}

/** Lexicographic order of byte strings. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The `result` label of quicmesh_transport_requests_total for a failed request. */
export function resultLabel(err: Error): string {
  if (err instanceof TimeoutError) return 'timeout';
  if (err instanceof AbortError) return 'aborted';
  if (err instanceof IdentityError) return 'identity';
  return 'error';
}
