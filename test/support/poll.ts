/**
 * Waiting on state the test does not drive step by step, bounded and naming what was awaited on
 * failure:
 * - `pollUntil`: state another process or the real clock moves (a lab node's /status, a
 *   Prometheus target list, a QUIC mesh forming): poll `probe` on a real-time interval until a
 *   deadline;
 * - `turnsUntil`: state that moves on promise jobs and immediates only (a rendered Ink frame, a
 *   handle libuv releases in its close phase): check after each turn of the event loop.
 * A probe that throws counts as "not yet" (the last error is reported at the deadline).
 */
import { flush } from './virtual-time.js';

export interface PollOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

type Probe<T> = () => Promise<T | null | undefined | false> | T | null | undefined | false;

export async function pollUntil<T>(
  what: string,
  probe: Probe<T>,
  { timeoutMs = 30_000, intervalMs = 100 }: PollOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs)); // poll interval, bounded by the deadline
  }
}

export async function turnsUntil<T>(what: string, probe: Probe<T>, maxTurns = 50): Promise<T> {
  let last: unknown = null;
  for (let turn = 0; ; turn++) {
    try {
      const v = await probe();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (turn >= maxTurns) throw new Error(`not within ${maxTurns} event-loop turns: ${what}${last ? `: ${String(last)}` : ''}`);
    await flush();
  }
}
