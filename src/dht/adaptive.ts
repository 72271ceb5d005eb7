/**
 * The two self-tuning DHT parameters of the spec, as small pure estimators:
 * - AdaptiveK: bucket size / replication factor k in K_MIN..K_MAX, rising with the observed churn
 *   rate (contacts evicted because they stopped answering, per table contact per hour).
 * - AdaptiveAlpha: lookup parallelism α in ALPHA_MIN..ALPHA_MAX, rising when lookups see many
 *   failed queries (route around dead nodes) and falling when nearly all queries succeed.
 * Both move one bounded step per evaluation so a burst cannot swing them across the range.
 */
import { ALPHA_DEFAULT, ALPHA_MAX, ALPHA_MIN, K_DEFAULT, K_MAX, K_MIN } from '../constants.js';

// --- k -----------------------------------------------------------------------------------------
/** ms between churn evaluations. */
export const CHURN_WINDOW_MS = 10 * 60_000;
/** Evictions per contact per hour at which k sits at K_DEFAULT (typical DHT session lengths of hours). */
export const CHURN_NOMINAL_PER_HOUR = 0.2;
/** Evictions per contact per hour at or above which k reaches K_MAX. */
export const CHURN_HIGH_PER_HOUR = 1.0;
/** Weight of the newest window in the churn moving average. */
export const CHURN_EWMA_WEIGHT = 0.5;
/** Largest change of k per evaluation. */
export const K_STEP = 2;
/** Tables smaller than this give no meaningful rate; k is left alone. */
export const CHURN_MIN_TABLE_SIZE = K_MIN;

export interface AdaptiveKOptions {
  initial?: number;
  windowMs?: number;
}

export class AdaptiveK {
  private k: number;
  private rate: number | undefined;
  private readonly windowMs: number;
  private windowStart: number;
  private evictionsAtStart: number | undefined;

  constructor(now: number, options: AdaptiveKOptions = {}) {
    this.k = clamp(Math.round(options.initial ?? K_DEFAULT), K_MIN, K_MAX);
    this.windowMs = options.windowMs ?? CHURN_WINDOW_MS;
    this.windowStart = now;
  }

  get value(): number {
    return this.k;
  }

  /** Smoothed churn rate (evictions per contact per hour); undefined before the first window. */
  get churnPerHour(): number | undefined {
    return this.rate;
  }

  /**
   * Feed the routing table's running eviction total and size; once a window has elapsed the rate
   * is folded into the average and k takes one step toward its target. Returns the current k.
   */
  update(now: number, totalEvictions: number, tableSize: number): number {
    if (this.evictionsAtStart === undefined) {
      this.evictionsAtStart = totalEvictions;
      this.windowStart = now;
      return this.k;
    }
    const elapsed = now - this.windowStart;
    if (elapsed < this.windowMs) return this.k;
    const events = totalEvictions - this.evictionsAtStart;
    this.evictionsAtStart = totalEvictions;
    this.windowStart = now;
    if (tableSize < CHURN_MIN_TABLE_SIZE) return this.k;
    const sample = events / Math.max(tableSize, 1) / (elapsed / 3_600_000);
    this.rate = this.rate === undefined ? sample : CHURN_EWMA_WEIGHT * sample + (1 - CHURN_EWMA_WEIGHT) * this.rate;
    const target = kForChurn(this.rate);
    this.k = clamp(target, this.k - K_STEP, this.k + K_STEP);
    return this.k;
  }
}

/** The k a churn rate calls for: K_MIN at zero churn, K_DEFAULT at nominal, K_MAX at high, linear between. */
export function kForChurn(ratePerHour: number): number {
  if (ratePerHour <= 0) return K_MIN;
  if (ratePerHour <= CHURN_NOMINAL_PER_HOUR) {
    return Math.round(K_MIN + ((K_DEFAULT - K_MIN) * ratePerHour) / CHURN_NOMINAL_PER_HOUR);
  }
  const f = Math.min(1, (ratePerHour - CHURN_NOMINAL_PER_HOUR) / (CHURN_HIGH_PER_HOUR - CHURN_NOMINAL_PER_HOUR));
  return Math.round(K_DEFAULT + (K_MAX - K_DEFAULT) * f);
}

// --- α -----------------------------------------------------------------------------------------
/** Lookups per α evaluation. */
export const ALPHA_WINDOW_LOOKUPS = 16;
/** Query success ratio below which α grows (many dead or slow nodes on the paths). */
export const ALPHA_RAISE_BELOW = 0.85;
/** Query success ratio above which α shrinks (nearly every query answers: spare the traffic). */
export const ALPHA_LOWER_ABOVE = 0.98;

export interface AdaptiveAlphaOptions {
  initial?: number;
  windowLookups?: number;
}

export class AdaptiveAlpha {
  private alpha: number;
  private readonly window: number;
  private lookups = 0;
  private answered = 0;
  private failed = 0;
  private lastRatio: number | undefined;

  constructor(options: AdaptiveAlphaOptions = {}) {
    this.alpha = clamp(Math.round(options.initial ?? ALPHA_DEFAULT), ALPHA_MIN, ALPHA_MAX);
    this.window = Math.max(1, options.windowLookups ?? ALPHA_WINDOW_LOOKUPS);
  }

  get value(): number {
    return this.alpha;
  }

  /** Success ratio of the last completed window; undefined before the first. */
  get successRate(): number | undefined {
    return this.lastRatio;
  }

  /**
   * Record one finished lookup: how many of its queries were answered and how many failed or
   * timed out. A lookup that got no answer at all counts as one failure. Returns the current α.
   */
  record(answered: number, failed: number): number {
    this.lookups++;
    this.answered += answered;
    this.failed += answered === 0 && failed === 0 ? 1 : failed;
    if (this.lookups < this.window) return this.alpha;
    const ratio = this.answered / Math.max(1, this.answered + this.failed);
    this.lastRatio = ratio;
    if (ratio < ALPHA_RAISE_BELOW) this.alpha = Math.min(ALPHA_MAX, this.alpha + 1);
    else if (ratio > ALPHA_LOWER_ABOVE) this.alpha = Math.max(ALPHA_MIN, this.alpha - 1);
    this.lookups = this.answered = this.failed = 0;
    return this.alpha;
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}
