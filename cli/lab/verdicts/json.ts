/**
 * The machine-readable verdict report (`quicmesh-lab test --json`). Fields:
 *
 *   version          1; bumped when a field changes meaning
 *   topology         topology name
 *   passThreshold    share of repeats (0..1] an expectation needs to pass
 *   pass             true when every expectation passed
 *   passed, failed   expectation counts
 *   expectations[]   one per expectation, in topology order:
 *     text           canonical pair text, e.g. "alice-1 -> bob: direct within 2000ms"
 *     source, line   the topology line it came from, as written, and its 1-based line number
 *     from, to       node names
 *     path           expected path kind: any | direct (not relayed) | hole-punched | relayed
 *     withinMs       time-to-connect bound in ms, or null
 *     repeats        number of repeats observed
 *     satisfied      repeats that met the expectation
 *     successRate    satisfied / repeats (0 with no repeats)
 *     pass           satisfied / repeats reached passThreshold
 *     timeToConnectMs { p50, p95 } nearest-rank percentiles over connected repeats, ms; null when none connected
 *     paths          { direct, hole-punched, relayed, failed, unknown } repeat counts (failed = did not connect,
 *                    unknown = connected without reporting a path)
 *     reasons[]      { reason, count } why repeats failed, most frequent first
 */
import type { PathKind } from '../../topology/model.js';
import type { PathCounts, VerdictReport } from './verdicts.js';

export interface JsonExpectationReport {
  text: string;
  source: string;
  line: number;
  from: string;
  to: string;
  path: PathKind;
  withinMs: number | null;
  repeats: number;
  satisfied: number;
  successRate: number;
  pass: boolean;
  timeToConnectMs: { p50: number | null; p95: number | null };
  paths: PathCounts;
  reasons: { reason: string; count: number }[];
}

export interface JsonReport {
  version: 1;
  topology: string;
  passThreshold: number;
  pass: boolean;
  passed: number;
  failed: number;
  expectations: JsonExpectationReport[];
}

export function toJsonReport(report: VerdictReport): JsonReport {
  return {
    version: 1,
    topology: report.topology,
    passThreshold: report.passThreshold,
    pass: report.pass,
    passed: report.passed,
    failed: report.failed,
    expectations: report.verdicts.map((v) => ({
      text: v.expectation.text,
      source: v.expectation.source,
      line: v.expectation.line,
      from: v.expectation.from,
      to: v.expectation.to,
      path: v.expectation.path,
      withinMs: v.expectation.withinMs,
      repeats: v.repeats,
      satisfied: v.satisfied,
      successRate: v.successRate,
      pass: v.pass,
      timeToConnectMs: { p50: v.p50Ms, p95: v.p95Ms },
      paths: { ...v.paths },
      reasons: v.reasons.map((r) => ({ ...r })),
    })),
  };
}
