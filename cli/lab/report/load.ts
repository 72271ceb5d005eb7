/**
 * Reading JSON verdict reports back — as baselines and as the runs of `quicmesh-lab report` — in every
 * format version there has been (docs/report-format.md): version 1 (no per-repeat samples, no run
 * information) and version 2. Both become one RunReport; what a version lacks is null. A file that is not
 * a report, or is of a newer version than this reader knows, is a ConfigError naming the file and field.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../../../src/errors.js';
import type { PathKind } from '../../topology/model.js';
import { REPORT_VERSION, type JsonReport, type RunInfo } from '../verdicts/json.js';
import { wilsonInterval, type Interval } from '../verdicts/stats.js';
import type { PathCounts, Sample } from '../verdicts/verdicts.js';

/** One expectation of a run, whatever the version of the file it came from. */
export interface ReportCell {
  text: string;
  from: string;
  to: string;
  line: number;
  path: PathKind;
  withinMs: number | null;
  repeats: number;
  satisfied: number;
  successRate: number;
  pass: boolean;
  p50Ms: number | null;
  p95Ms: number | null;
  paths: PathCounts;
  reasons: { reason: string; count: number }[];
  successInterval: Interval;
  /** Per-repeat results; null in a version-1 report. */
  samples: Sample[] | null;
}

export interface RunReport {
  /** Where it was read from ('' for the run in memory). */
  file: string;
  version: number;
  topology: string;
  run: RunInfo;
  confidence: number;
  passThreshold: number;
  pass: boolean;
  passed: number;
  failed: number;
  cells: ReportCell[];
}

const count = z.number().int().nonnegative();
const ms = z.number().nonnegative().nullable();
const pathKind = z.enum(['any', 'direct', 'hole-punched', 'relayed']);
const pathCounts = z.object({
  direct: count,
  'hole-punched': count,
  relayed: count,
  failed: count,
  unknown: count,
});
const v1Expectation = z.object({
  text: z.string(),
  source: z.string(),
  line: z.number().int(),
  from: z.string(),
  to: z.string(),
  path: pathKind,
  withinMs: ms,
  repeats: count,
  satisfied: count,
  successRate: z.number().min(0).max(1),
  pass: z.boolean(),
  timeToConnectMs: z.object({ p50: ms, p95: ms }),
  paths: pathCounts,
  reasons: z.array(z.object({ reason: z.string(), count })),
});
const v1Report = z.object({
  version: z.literal(1),
  topology: z.string(),
  passThreshold: z.number().gt(0).max(1),
  pass: z.boolean(),
  passed: count,
  failed: count,
  expectations: z.array(v1Expectation),
});
const sample = z.object({
  path: z.enum(['direct', 'hole-punched', 'relayed', 'failed', 'unknown']),
  ms,
  ok: z.boolean(),
});
const repeatPlan = z.union([
  z.object({ mode: z.literal('fixed'), count: count }),
  z.object({ mode: z.literal('auto'), min: count, max: count, ciWidth: z.number().positive() }),
]);
const v2Report = v1Report.extend({
  version: z.literal(2),
  run: z.object({
    startedAt: z.string().nullable(),
    label: z.string().nullable(),
    backend: z.string().nullable(),
    natState: z.enum(['cold', 'warm', 'unsupported']).nullable(),
    repeat: repeatPlan.nullable(),
  }),
  confidence: z.number().gt(0).lt(1),
  expectations: z.array(
    v1Expectation.extend({
      successInterval: z.object({ low: z.number().min(0).max(1), high: z.number().min(0).max(1) }),
      samples: z.array(sample),
    }),
  ),
});

type V1 = z.infer<typeof v1Report>;
type V2 = z.infer<typeof v2Report>;

function issueText(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  return `${path ? path.replace(/^\./, '') : '(top level)'}: ${issue.message}`;
}

/** A parsed JSON value as a RunReport; `file` names it in errors. */
export function reportFromJson(data: unknown, file: string): RunReport {
  const version = (data as { version?: unknown } | null)?.version;
  if (typeof data !== 'object' || data === null || Array.isArray(data) || typeof version !== 'number')
    throw new ConfigError(`${file}: not a quicmesh-lab JSON report (no "version" field)`);
  if (version > REPORT_VERSION || version < 1 || !Number.isInteger(version))
    throw new ConfigError(
      `${file}: report format version ${version} is not one this quicmesh-lab reads (1 to ${REPORT_VERSION})`,
    );
  const parsed = (version === 1 ? v1Report : v2Report).safeParse(data);
  if (!parsed.success)
    throw new ConfigError(`${file}: not a valid version-${version} report: ${issueText(parsed.error)}`);
  return version === 1 ? fromV1(parsed.data as V1, file) : fromV2(parsed.data as V2, file);
}

function cellOf(e: V1['expectations'][number], confidence: number): Omit<ReportCell, 'samples'> {
  return {
    text: e.text,
    from: e.from,
    to: e.to,
    line: e.line,
    path: e.path,
    withinMs: e.withinMs,
    repeats: e.repeats,
    satisfied: e.satisfied,
    successRate: e.successRate,
    pass: e.pass,
    p50Ms: e.timeToConnectMs.p50,
    p95Ms: e.timeToConnectMs.p95,
    paths: e.paths,
    reasons: e.reasons,
    successInterval: wilsonInterval(e.satisfied, e.repeats, confidence),
  };
}

function fromV1(r: V1, file: string): RunReport {
  const confidence = 0.95;
  return {
    file,
    version: 1,
    topology: r.topology,
    run: { startedAt: null, label: null, backend: null, natState: null, repeat: null },
    confidence,
    passThreshold: r.passThreshold,
    pass: r.pass,
    passed: r.passed,
    failed: r.failed,
    cells: r.expectations.map((e) => ({ ...cellOf(e, confidence), samples: null })),
  };
}

function fromV2(r: V2, file: string): RunReport {
  return {
    file,
    version: 2,
    topology: r.topology,
    run: r.run,
    confidence: r.confidence,
    passThreshold: r.passThreshold,
    pass: r.pass,
    passed: r.passed,
    failed: r.failed,
    cells: r.expectations.map((e) => ({
      ...cellOf(e, r.confidence),
      successInterval: e.successInterval,
      samples: e.samples,
    })),
  };
}

/** The report this run is writing, as a RunReport (for comparisons made before or without a file). */
export function reportFromRun(json: JsonReport): RunReport {
  return reportFromJson(json, '');
}

/** Read and check a JSON report file. */
export function loadReport(file: string): RunReport {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read it (${code ?? String(err)})`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return reportFromJson(data, file);
}
