/**
 * The adaptive push policy's per-link state and rules (the why is at the top of router.ts): each
 * mesh link has a usefulness moving average fed by outcomes (1: our copy or announcement was the
 * peer's first news of a message; 0: it was redundant), and a flag saying whether we push full
 * copies over it (eager) or only announce them (lazy).
 */

export interface Link {
  eager: boolean;
  usefulness: number;
}

export interface PushPolicyConfig {
  usefulnessAlpha: number;
  chokeThreshold: number;
  unchokeThreshold: number;
  eagerMin: number;
}

/** Usefulness of a fresh or unchoked link: above any sane choke threshold, so it gets a trial. */
export const FRESH_USEFULNESS = 0.5;

export function freshLink(): Link {
  return { eager: true, usefulness: FRESH_USEFULNESS };
}

/** Fold one outcome into the link's moving average. */
export function recordOutcome(link: Link, useful: boolean, alpha: number): void {
  link.usefulness += alpha * ((useful ? 1 : 0) - link.usefulness);
}

/** The peer answered our announcement with IWant: a useful outcome, and maybe an unchoke. */
export function recordIWant(link: Link, cfg: PushPolicyConfig): void {
  recordOutcome(link, true, cfg.usefulnessAlpha);
  if (!link.eager && link.usefulness >= cfg.unchokeThreshold) {
    link.eager = true;
    link.usefulness = Math.max(link.usefulness, FRESH_USEFULNESS);
  }
}

/** Choke eager links below the threshold, least useful first, keeping eagerMin of them eager. */
export function chokeLinks(links: Iterable<Link>, cfg: PushPolicyConfig): void {
  const eager = [...links].filter((l) => l.eager).sort((a, b) => a.usefulness - b.usefulness);
  let count = eager.length;
  for (const link of eager) {
    if (count <= cfg.eagerMin || link.usefulness >= cfg.chokeThreshold) break;
    link.eager = false;
    count--;
  }
}
