/** Talking to lab nodes over their management network: one GET with a deadline, never throwing. */

/** GET a URL once, JSON body or null; never throws. */
export async function getJson(url: string, timeoutMs = 1000): Promise<Record<string, unknown> | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return null;
    return (await res.json()) as Record<string, unknown>;
  } catch {
    return null;
  }
}
