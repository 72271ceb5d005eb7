/**
 * The regression side of `quicmesh-lab test`: its flags (--baseline, --update-baseline, --markdown, --label,
 * the comparison's thresholds, --repeat auto's limits), checked before any lab is built (a bad flag or
 * baseline exits 2 at once), and what happens once the run's JSON report exists: compare it with the
 * baseline, print the comparison, write the markdown summary and the new baseline. Exit codes
 * (docs/report-format.md): 0 all well, 1 an expectation failed (or the run broke), 2 bad input,
 * 3 every expectation held but a cell regressed against the baseline.
 */
import { existsSync } from 'node:fs';
import type { Argv } from 'yargs';
import { ConfigError } from '../../../src/errors.js';
import type { LabIO } from '../io.js';
import type { JsonReport, RepeatPlan } from '../verdicts/json.js';
import { DEFAULT_AUTO_REPEAT, parseRepeat } from '../verdicts/repeat-plan.js';
import {
  compareReports,
  DEFAULT_COMPARE,
  formatComparison,
  type CompareOptions,
  type Comparison,
} from './compare.js';
import { checkOutputPath, writeFileWhole } from './files.js';
import { loadReport, reportFromRun, type RunReport } from './load.js';
import { toMarkdown } from './markdown.js';

import { EXIT_REGRESSION, RegressionError } from './regression-error.js';

export { EXIT_REGRESSION, RegressionError };

export interface CompareFlags {
  alpha: number;
  'min-slowdown-ms': number;
  'min-slowdown': number;
  'min-ratio-change': number;
}

export interface RegressionFlags extends CompareFlags {
  repeat: string;
  baseline?: string;
  'update-baseline': boolean;
  markdown?: string;
  label?: string;
  'min-repeat': number;
  'max-repeat': number;
  'ci-width': number;
}

/** The thresholds of a comparison, shared by `test` and `report`. */
export function compareFlags<T>(yargs: Argv<T>) {
  return yargs
    .option('alpha', {
      type: 'number',
      default: DEFAULT_COMPARE.alpha,
      describe: 'family-wise significance level of the comparison with the baseline (Holm over all tests)',
    })
    .option('min-slowdown-ms', {
      type: 'number',
      default: DEFAULT_COMPARE.minSlowdownMs,
      describe: 'a cell slower by less than this many ms is not a regression',
    })
    .option('min-slowdown', {
      type: 'number',
      default: DEFAULT_COMPARE.minSlowdown,
      describe: "…nor one slower by less than this share of the baseline's median (0.25 = 25%)",
    })
    .option('min-ratio-change', {
      type: 'number',
      default: DEFAULT_COMPARE.minRatioChange,
      describe: 'smallest success-ratio drop, or shift of repeats to a worse path, that is a regression',
    });
}

/** The flags `test` gets for baselines, reports and --repeat auto. */
export function regressionFlags<T>(yargs: Argv<T>) {
  return compareFlags(yargs)
    .option('baseline', { type: 'string', describe: 'compare the run with this earlier JSON report' })
    .option('update-baseline', {
      type: 'boolean',
      default: false,
      describe: "write this run's JSON report to the --baseline file afterwards (created if missing)",
    })
    .option('markdown', {
      type: 'string',
      describe: 'write a markdown summary (PR comment, job summary) to this file',
    })
    .option('label', { type: 'string', describe: 'name of this run in the reports (e.g. a commit)' })
    .option('min-repeat', {
      type: 'number',
      default: DEFAULT_AUTO_REPEAT.min,
      describe: '--repeat auto: repeats every pair gets first',
    })
    .option('max-repeat', {
      type: 'number',
      default: DEFAULT_AUTO_REPEAT.max,
      describe: '--repeat auto: most repeats of one pair',
    })
    .option('ci-width', {
      type: 'number',
      default: DEFAULT_AUTO_REPEAT.ciWidth,
      describe:
        '--repeat auto: repeat a pair until the 95% interval of its success ratio is at most this wide',
    });
}

export function compareOptionsOf(argv: CompareFlags): CompareOptions {
  const o: CompareOptions = {
    alpha: argv.alpha,
    minSlowdownMs: argv['min-slowdown-ms'],
    minSlowdown: argv['min-slowdown'],
    minRatioChange: argv['min-ratio-change'],
  };
  if (!(o.alpha > 0 && o.alpha < 1))
    throw new ConfigError(`--alpha: expected a number in (0, 1), got ${argv.alpha}`);
  if (!(o.minSlowdownMs >= 0))
    throw new ConfigError(`--min-slowdown-ms: expected a number ≥ 0, got ${argv['min-slowdown-ms']}`);
  if (!(o.minSlowdown >= 0))
    throw new ConfigError(`--min-slowdown: expected a number ≥ 0, got ${argv['min-slowdown']}`);
  if (!(o.minRatioChange >= 0 && o.minRatioChange <= 1))
    throw new ConfigError(`--min-ratio-change: expected a number in [0, 1], got ${argv['min-ratio-change']}`);
  return o;
}

export interface RegressionSettings {
  repeat: RepeatPlan;
  baselineFile: string | null;
  /** The baseline, or null (none asked for, or --update-baseline creating it). */
  baseline: RunReport | null;
  updateBaseline: boolean;
  markdownFile: string | null;
  label: string | null;
  compare: CompareOptions;
}

/** Check the flags and read the baseline before anything is built; `topology` is the run's topology name. */
export function prepareRegression(argv: RegressionFlags, topology: string): RegressionSettings {
  const repeat = parseRepeat(argv.repeat, {
    min: argv['min-repeat'],
    max: argv['max-repeat'],
    ciWidth: argv['ci-width'],
  });
  const compare = compareOptionsOf(argv);
  const markdownFile = checkOutputPath(argv.markdown, 'markdown') ?? null;
  const baselineFile = argv.baseline ?? null;
  if (argv['update-baseline'] && baselineFile === null)
    throw new ConfigError('--update-baseline: name the baseline file with --baseline FILE');
  if (baselineFile !== null && argv['update-baseline']) checkOutputPath(baselineFile, 'baseline');
  let baseline: RunReport | null = null;
  if (baselineFile !== null && (existsSync(baselineFile) || !argv['update-baseline'])) {
    baseline = loadReport(baselineFile);
    if (baseline.topology !== topology)
      throw new ConfigError(
        `--baseline: ${baselineFile} is a report of topology ${baseline.topology}, not ${topology}`,
      );
  }
  return {
    repeat,
    baselineFile,
    baseline,
    updateBaseline: argv['update-baseline'],
    markdownFile,
    label: argv.label ?? null,
    compare,
  };
}

/**
 * After the run: compare with the baseline (printing the result), write the markdown summary and the new
 * baseline. Returns the comparison (null without a baseline).
 */
export function finishRegression(json: JsonReport, s: RegressionSettings, io: LabIO): Comparison | null {
  const run = reportFromRun(json);
  const cmp = s.baseline ? compareReports(s.baseline, run, s.compare) : null;
  if (cmp) io.stdout(`\n${formatComparison(cmp)}`);
  if (s.markdownFile) writeFileWhole(s.markdownFile, toMarkdown(run, cmp));
  if (s.updateBaseline && s.baselineFile) {
    writeFileWhole(s.baselineFile, `${JSON.stringify(json, null, 2)}\n`);
    io.stdout(`baseline ${s.baselineFile} ${s.baseline ? 'updated' : 'created'}\n`);
  }
  return cmp;
}
