/**
 * Waiting on state another process owns (a lab node's /status, a Prometheus target list): poll
 * `probe` until it yields a value, bounded by a deadline, naming what was awaited on failure.
 * A probe that throws counts as "not yet" (the last error is reported at the deadline).
 */
export interface PollOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
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
