/**
 * One exchange on a QUIC connection under one deadline and one abort signal: wait until the
 * connection to the target is verified (dialling it if needed), check it is the node we expect,
 * then hand it to `use`. Whatever happens first — the deadline, the abort, a failed handshake, the
 * exchange's own outcome — settles the promise; a dial nobody waits for any more is abandoned.
 */
import { bytesEqual, shortHex } from '../../core/bytes.js';
import type { Clock } from '../../core/clock.js';
import { AbortError, IdentityError, TimeoutError, TransportError } from '../../errors.js';
import type { Target } from '../transport.js';
import { QuicConnection } from './connection.js';

/** How `use` settles an exchange that does not finish synchronously. */
export interface Settle<T> {
  done(value: T): void;
  fail(err: Error): void;
  /** Called with the reason when the exchange is settled some other way (deadline, abort). */
  onCancel(fn: (reason: Error) => void): void;
}

/**
 * `use` returns its result, or undefined and settles later through `settle`. `connection` gives
 * the connection to use (a promise when the host needs a DNS lookup first).
 */
export function onConnection<T>(
  clock: Clock,
  target: Target,
  opts: { timeoutMs: number; signal?: AbortSignal },
  connection: () => QuicConnection | Promise<QuicConnection>,
  use: (conn: QuicConnection, settle: Settle<T>) => T | undefined,
): Promise<T> {
  const { timeoutMs, signal } = opts;
  if (signal?.aborted) return Promise.reject(new AbortError(`request to ${target.addr} aborted`));
  return new Promise<T>((resolve, reject) => {
    let finished = false;
    let cancel: ((reason: Error) => void) | undefined;
    let unwait: (() => void) | undefined;
    const finish = (err: Error | null, value?: T): void => {
      if (finished) return;
      finished = true;
      timer.cancel();
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        unwait?.();
        cancel?.(err);
        reject(err);
      } else resolve(value as T);
    };
    const timer = clock.setTimer(timeoutMs, () => finish(new TimeoutError(`request to ${target.addr} timed out after ${timeoutMs} ms`)));
    const onAbort = (): void => finish(new AbortError(`request to ${target.addr} aborted`));
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle: Settle<T> = {
      done: (v) => finish(null, v),
      fail: (e) => finish(e),
      onCancel: (fn) => {
        if (finished) fn(new TransportError('finished'));
        else cancel = fn;
      },
    };
    const onConn = (conn: QuicConnection): void => {
      if (finished) return;
      unwait = conn.whenReady((err) => {
        unwait = undefined;
        if (finished) return;
        if (err) return finish(err);
        if (target.nodeId && !bytesEqual(conn.peer.nodeId, target.nodeId)) {
          return finish(new IdentityError(`expected node ${shortHex(target.nodeId)} at ${target.addr}, found ${shortHex(conn.peer.nodeId)}`));
        }
        let result: T | undefined;
        try {
          result = use(conn, settle);
        } catch (e) {
          return finish(e as Error);
        }
        if (result !== undefined) finish(null, result);
      });
    };
    let conn: QuicConnection | Promise<QuicConnection>;
    try {
      conn = connection();
    } catch (e) {
      return finish(e as Error);
    }
    if (conn instanceof QuicConnection) onConn(conn);
    else conn.then(onConn, (e: Error) => finish(e));
  });
}
