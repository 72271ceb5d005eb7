/**
 * The machine-readable verdict report (`quicmesh-lab test --json`). Documented field by field, with the
 * history of the format, in docs/report-format.md. Version 2 (this writer) added, to version 1:
 *
 *   run              { startedAt, label, backend, natState, repeat }: how the run was made
 *   confidence       confidence level of the intervals (0.95)
 *   expectations[].successInterval  { low, high }: Wilson interval of successRate over the repeats
 *   expectations[].samples[]        { path, ms, ok } per repeat: the per-repeat times baselines compare
 *
 * cli/lab/report/load.ts reads both versions (a version-1 report still serves as a baseline).
 */
import type { PathKind } from '../../topology/model.js';
import { wilsonInterval, type Interval } from './stats.js';
import type { PathCounts, Sample, VerdictReport } from './verdicts.js';
import type { ScenarioReport } from '../scenario/phase.js';

/** The report format version this writer produces. */
export const REPORT_VERSION = 2;

/** How `--repeat` chose the number of repeats. */
export type RepeatPlan =
  | { mode: 'fixed'; count: number }
  | { mode: 'auto'; min: number; max: number; ciWidth: number };

/** How the run was made; every field may be null (unknown), as in reports made outside `quicmesh-lab test`. */
export interface RunInfo {
  /** ISO 8601 time the run started. */
  startedAt: string | null;
  /** Free text naming the run (`--label`, e.g. a commit). */
  label: string | null;
  backend: string | null;
  natState: 'cold' | 'warm' | 'unsupported' | null;
  repeat: RepeatPlan | null;
}

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
  successInterval: Interval;
  samples: Sample[];
}

export interface JsonReport {
  version: typeof REPORT_VERSION;
  /**
   * The scenario's timeline (the topology's `scenario:`), when the run had one: every entry of every run
   * with its times and outcome. Optional and additive, so the format stays version 2 (docs/report-format.md).
   */
  timeline?: ScenarioReport;
  topology: string;
  run: RunInfo;
  confidence: number;
  passThreshold: number;
  pass: boolean;
  passed: number;
  failed: number;
  expectations: JsonExpectationReport[];
}

const NO_RUN_INFO: RunInfo = { startedAt: null, label: null, backend: null, natState: null, repeat: null };

export function toJsonReport(report: VerdictReport, run: Partial<RunInfo> = {}, confidence = 0.95): JsonReport {
  return {
    version: REPORT_VERSION,
    topology: report.topology,
    run: { ...NO_RUN_INFO, ...run },
    confidence,
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
      successInterval: wilsonInterval(v.satisfied, v.repeats, confidence),
      samples: v.samples.map((x) => ({ ...x })),
    })),
  };
}
