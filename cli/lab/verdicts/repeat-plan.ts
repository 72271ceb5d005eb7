/**
 * `--repeat N` and `--repeat auto`. Auto keeps repeating each pair until the Wilson interval of every
 * expectation on it is at most `ciWidth` wide (at `confidence`), or the pair has had `max` repeats. It works
 * in rounds: every pair still open gets the same number of further repeats (the fewest any open pair is
 * estimated to need), so the probes of a round run in parallel as with a fixed count. Pure but for the
 * `run` callback that does the probing.
 */
import { ConfigError } from '../../../src/errors.js';
import type { Expectation } from '../../topology/model.js';
import type { RepeatPlan } from './json.js';
import { wilsonInterval } from './stats.js';
import type { ExpectationResults, Observation } from './verdicts.js';
import { failureReason } from './verdicts.js';

export interface AutoRepeatLimits {
  /** Repeats every pair gets first. */
  min: number;
  /** Most repeats of one pair. */
  max: number;
  /** Target width (high − low) of the success ratio's interval. */
  ciWidth: number;
}

export const DEFAULT_AUTO_REPEAT: AutoRepeatLimits = { min: 5, max: 50, ciWidth: 0.2 };

/** The `--repeat` value: a whole number ≥ 1, or "auto" with the limits given. */
export function parseRepeat(
  value: string | number,
  limits: AutoRepeatLimits = DEFAULT_AUTO_REPEAT,
): RepeatPlan {
  if (String(value).trim() === 'auto') {
    const { min, max, ciWidth } = limits;
    if (!Number.isInteger(min) || min < 1)
      throw new ConfigError(`--min-repeat: expected a whole number ≥ 1, got ${min}`);
    if (!Number.isInteger(max) || max < min)
      throw new ConfigError(`--max-repeat: expected a whole number ≥ --min-repeat (${min}), got ${max}`);
    if (!(ciWidth > 0 && ciWidth <= 1))
      throw new ConfigError(`--ci-width: expected a number in (0, 1], got ${ciWidth}`);
    return { mode: 'auto', min, max, ciWidth };
  }
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1)
    throw new ConfigError(`--repeat: expected a whole number ≥ 1 or "auto", got ${value}`);
  return { mode: 'fixed', count: n };
}

/**
 * How many more repeats an expectation with `satisfied` of `n` needs: 0 when its interval is narrow enough
 * or the cap is reached; else the fewest that would make it narrow enough if the ratio stayed as it is.
 */
export function repeatsNeeded(
  satisfied: number,
  n: number,
  limits: AutoRepeatLimits,
  confidence = 0.95,
): number {
  if (n >= limits.max) return 0;
  if (n < limits.min) return limits.min - n;
  const width = (k: number, m: number): number => {
    const i = wilsonInterval(k, m, confidence);
    return i.high - i.low;
  };
  if (width(satisfied, n) <= limits.ciWidth) return 0;
  const p = satisfied / n;
  for (let m = n + 1; m < limits.max; m++) if (width(p * m, m) <= limits.ciWidth) return m - n;
  return limits.max - n;
}

export type RunRepeats = (
  expectations: readonly Expectation[],
  repeat: number,
) => Promise<ExpectationResults[]>;

/** Run the expectations as the plan says; `run` probes every pair of the expectations given `repeat` times. */
export async function runWithPlan(
  expectations: readonly Expectation[],
  plan: RepeatPlan,
  run: RunRepeats,
  confidence = 0.95,
): Promise<ExpectationResults[]> {
  if (plan.mode === 'fixed') return run(expectations, plan.count);
  const observed = new Map<Expectation, Observation[]>(expectations.map((e) => [e, []]));
  const pairOf = (e: Expectation): string => `${e.from}\n${e.to}`;
  for (;;) {
    // a pair needs what its neediest expectation needs
    const need = new Map<string, number>();
    for (const [e, obs] of observed) {
      const satisfied = obs.filter((o) => failureReason(e, o) === null).length;
      const n = repeatsNeeded(satisfied, obs.length, plan, confidence);
      need.set(pairOf(e), Math.max(need.get(pairOf(e)) ?? 0, n));
    }
    const open = [...need.values()].filter((n) => n > 0);
    if (open.length === 0) break;
    const step = Math.min(...open);
    const batch = expectations.filter((e) => (need.get(pairOf(e)) ?? 0) > 0);
    const results = await run(batch, step);
    let added = 0;
    for (const r of results) {
      observed.get(r.expectation)!.push(...r.repeats);
      added += r.repeats.length;
    }
    if (added === 0) break; // nothing more to learn: never loop on a runner that returns nothing
  }
  return expectations.map((e) => ({ expectation: e, repeats: observed.get(e)! }));
}
