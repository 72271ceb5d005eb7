/**
 * Verdicts: from the expectations of a topology and what each repeat of a lab run observed, decide
 * which expectations hold. Pure: no clock, no I/O. An expectation passes when the share of repeats that
 * satisfied it reaches the threshold (default 1: every repeat). A repeat satisfies "FROM -> TO: PATH
 * within N ms" when it connected, over an acceptable path (see pathSatisfies), in at most N ms.
 */
import { ConfigError } from '../../../src/errors.js';
import type { Expectation, PathKind } from '../../topology/model.js';

export type ObservedPath = 'direct' | 'hole-punched' | 'relayed';

/** What one repeat of a lab run saw for one expectation. */
export interface Observation {
  connected: boolean;
  /** The path the connection took; null when it did not connect (or the path is unknown). */
  path: ObservedPath | null;
  timeToConnectMs: number | null;
  error?: string;
}

/** One expectation with its observations, one per repeat. */
export interface ExpectationResults {
  expectation: Expectation;
  repeats: readonly Observation[];
}

export interface VerdictOptions {
  /** Topology name, for reports. */
  topology?: string;
  /** Share of repeats (0..1) that must satisfy an expectation for it to pass; default 1. */
  passThreshold?: number;
}

/** Counts of what the repeats observed; `failed` = did not connect, `unknown` = connected, path not reported. */
export type PathCounts = Record<ObservedPath | 'failed' | 'unknown', number>;

/** One repeat as the reports keep it: what it took, how long (connected repeats), and whether it satisfied. */
export interface Sample {
  path: keyof PathCounts;
  ms: number | null;
  ok: boolean;
}

export interface ExpectationVerdict {
  expectation: Expectation;
  repeats: number;
  satisfied: number;
  /** satisfied / repeats (0 when there were no repeats). */
  successRate: number;
  pass: boolean;
  /** Time to connect over the repeats that connected, nearest-rank percentiles; null when none did. */
  p50Ms: number | null;
  p95Ms: number | null;
  paths: PathCounts;
  /** Why repeats failed, most frequent first (ties in order of first occurrence). */
  reasons: { reason: string; count: number }[];
  /** Every repeat, in the order they finished. */
  samples: Sample[];
}

export interface VerdictReport {
  topology: string;
  passThreshold: number;
  verdicts: ExpectationVerdict[];
  passed: number;
  failed: number;
  /** True when every expectation passed (and there was at least one). */
  pass: boolean;
}

/** Whether an observed path meets an expected kind: `direct` means "not relayed" (dialled or punched). */
export function pathSatisfies(expected: PathKind, observed: ObservedPath | null): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'direct':
      return observed === 'direct' || observed === 'hole-punched';
    default:
      return observed === expected;
  }
}

/** Why a repeat does not satisfy the expectation; null when it does. */
export function failureReason(expectation: Expectation, observation: Observation): string | null {
  if (!observation.connected)
    return observation.error ? `not connected: ${observation.error}` : 'not connected';
  if (!pathSatisfies(expectation.path, observation.path)) {
    return `path ${observation.path ?? 'unknown'}, expected ${expectation.path}`;
  }
  if (expectation.withinMs !== null) {
    if (observation.timeToConnectMs === null) return 'time to connect not reported';
    if (observation.timeToConnectMs > expectation.withinMs) return `slower than ${expectation.withinMs}ms`;
  }
  return null;
}

/** Nearest-rank percentile of a sorted list; null for an empty one. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

function verdictOf(results: ExpectationResults, threshold: number): ExpectationVerdict {
  const { expectation, repeats } = results;
  const paths: PathCounts = { direct: 0, 'hole-punched': 0, relayed: 0, failed: 0, unknown: 0 };
  const reasons = new Map<string, number>();
  const times: number[] = [];
  const samples: Sample[] = [];
  let satisfied = 0;
  for (const observation of repeats) {
    const path = observation.connected ? (observation.path ?? 'unknown') : 'failed';
    paths[path]++;
    const ms = observation.connected ? observation.timeToConnectMs : null;
    if (ms !== null) times.push(ms);
    const reason = failureReason(expectation, observation);
    if (reason === null) satisfied++;
    else reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    samples.push({ path, ms, ok: reason === null });
  }
  times.sort((a, b) => a - b);
  const needed = Math.ceil(threshold * repeats.length - 1e-9);
  if (repeats.length === 0) reasons.set('no results', 0);
  return {
    expectation,
    repeats: repeats.length,
    satisfied,
    successRate: repeats.length === 0 ? 0 : satisfied / repeats.length,
    pass: repeats.length > 0 && satisfied >= needed,
    p50Ms: percentile(times, 50),
    p95Ms: percentile(times, 95),
    paths,
    // a stable sort keeps first-occurrence order among equal counts
    reasons: [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count),
    samples,
  };
}

export function computeVerdicts(
  results: readonly ExpectationResults[],
  options: VerdictOptions = {},
): VerdictReport {
  const threshold = options.passThreshold ?? 1;
  if (!(threshold > 0 && threshold <= 1))
    throw new ConfigError(`pass threshold must be in (0, 1], got ${threshold}`);
  const verdicts = results.map((r) => verdictOf(r, threshold));
  const passed = verdicts.filter((v) => v.pass).length;
  return {
    topology: options.topology ?? '',
    passThreshold: threshold,
    verdicts,
    passed,
    failed: verdicts.length - passed,
    pass: verdicts.length > 0 && passed === verdicts.length,
  };
}
