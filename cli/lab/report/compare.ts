/**
 * A run against a baseline, cell by cell (a cell is one expectation, matched by its canonical text).
 * Pure: two RunReports in, a Comparison out. Each cell gets up to three one-sided tests of "worse now":
 *
 *   success ratio  Fisher's exact test on satisfied/repeats; a regression when significant and the
 *                  ratio fell by at least minRatioChange
 *   path           Mann–Whitney U on the path of each connected repeat as a rank (direct 0 <
 *                  hole-punched 1 < relayed 2); a regression when significant and the share of repeats on
 *                  a path worse than the baseline's usual one rose by at least minRatioChange
 *   time           Mann–Whitney U on the per-repeat times to connect, shifted by the tolerance
 *                  max(minSlowdownMs, minSlowdown × baseline median): significant means "slower by more
 *                  than the tolerance", so a real but tiny change (2 ms on 60 ms) is never a regression.
 *                  Needs per-repeat times on both sides (format version 2).
 *
 * The p-values of all tests of the run are Holm-adjusted together and compared with `alpha`, so the chance
 * of any false alarm in a run on an unchanged build stays below alpha however many cells there are. The
 * same tests the other way round (a separate Holm family) mark improvements. An expectation that passed
 * and fails now is always listed; it is a regression when its ratio drop is significant (else it is within
 * the noise of the baseline — the failure itself still fails the run, exit 1).
 */
import type { ReportCell, RunReport } from './load.js';
import { fisherLowerP, hodgesLehmannShift, holm, mannWhitneyGreaterP, median } from '../verdicts/stats.js';
import type { PathCounts } from '../verdicts/verdicts.js';

export interface CompareOptions {
  /** Family-wise significance level over all tests of the run. */
  alpha: number;
  /** A slowdown smaller than this many ms is not a regression… */
  minSlowdownMs: number;
  /** …nor one smaller than this share of the baseline's median time. */
  minSlowdown: number;
  /** Smallest success-ratio drop, or path-share shift, that counts. */
  minRatioChange: number;
}

export const DEFAULT_COMPARE: CompareOptions = {
  alpha: 0.05,
  minSlowdownMs: 25,
  minSlowdown: 0.25,
  minRatioChange: 0.2,
};

export type ChangeKind =
  | 'fails-now'
  | 'passes-now'
  | 'ratio-drop'
  | 'ratio-rise'
  | 'path-downgrade'
  | 'path-upgrade'
  | 'slower'
  | 'faster';

export interface CellChange {
  kind: ChangeKind;
  /** Worse, and established by the test: counts towards the regression exit code. */
  regression: boolean;
  /** The test behind the change was significant (adjusted p < alpha and the effect big enough). */
  significant: boolean;
  /** Raw and Holm-adjusted p-values; null for a change no test judged. */
  p: number | null;
  adjustedP: number | null;
  /** What it was and is, for the reports ("62.1 ms", "hole-punched 20/20"). */
  before: string;
  after: string;
  /** One line saying what the test found. */
  detail: string;
}

export interface CellComparison {
  text: string;
  from: string;
  to: string;
  current: ReportCell | null;
  baseline: ReportCell | null;
  changes: CellChange[];
  /** Why time was not compared, or null when it was. */
  timeSkipped: string | null;
}

export interface Comparison {
  baseline: RunReport;
  current: RunReport;
  options: CompareOptions;
  cells: CellComparison[];
  regressions: { cell: CellComparison; change: CellChange }[];
  notes: string[];
}

const RANK = { direct: 0, 'hole-punched': 1, relayed: 2 } as const;
type RankedPath = keyof typeof RANK;
const RANKED: readonly RankedPath[] = ['direct', 'hole-punched', 'relayed'];

function pathRanks(paths: PathCounts): number[] {
  return RANKED.flatMap((p) => Array<number>(paths[p]).fill(RANK[p]));
}

/** The path most connected repeats took (the worse one on a tie); null when none connected over a known path. */
export function usualPath(paths: PathCounts): RankedPath | null {
  let best: RankedPath | null = null;
  for (const p of RANKED) if (paths[p] > 0 && (best === null || paths[p] >= paths[best])) best = p;
  return best;
}

function connectedTimes(cell: ReportCell): number[] | null {
  if (cell.samples === null) return null;
  return cell.samples.flatMap((s) => (s.path !== 'failed' && s.ms !== null ? [s.ms] : []));
}

const fmtMs = (v: number): string => `${Math.round(v * 10) / 10} ms`;
export const fmtP = (p: number): string =>
  p < 1e-4 ? p.toExponential(1) : p < 0.01 ? p.toFixed(4) : p.toFixed(2);
const ratio = (c: ReportCell): string => `${c.satisfied}/${c.repeats}`;
const pct = (x: number): string => `${Math.round(x * 100)}%`;

/** One test waiting for its Holm adjustment. */
interface Pending {
  cell: CellComparison;
  p: number;
  /** Whether the effect is big enough, apart from significance. */
  bigEnough: boolean;
  make: (significant: boolean, p: number, adjusted: number) => CellChange | null;
}

function ratioTests(
  cell: CellComparison,
  b: ReportCell,
  c: ReportCell,
  o: CompareOptions,
  worse: Pending[],
  better: Pending[],
): void {
  const before = ratio(b);
  const after = ratio(c);
  const failsNow = b.pass && !c.pass;
  const drop = b.successRate - c.successRate;
  worse.push({
    cell,
    p: fisherLowerP(b.satisfied, b.repeats, c.satisfied, c.repeats),
    bigEnough: drop >= o.minRatioChange,
    make: (significant, p, adjusted) => {
      const test = `Fisher p=${fmtP(p)}, Holm ${fmtP(adjusted)}`;
      if (failsNow) {
        return {
          kind: 'fails-now',
          regression: significant,
          significant,
          p,
          adjustedP: adjusted,
          before,
          after,
          detail: significant
            ? `now fails: ${before} → ${after} satisfied (${test})`
            : `now fails, within the noise of the baseline: ${before} → ${after} satisfied (${test})`,
        };
      }
      if (!significant) return null;
      return {
        kind: 'ratio-drop',
        regression: true,
        significant,
        p,
        adjustedP: adjusted,
        before,
        after,
        detail: `success ratio dropped: ${before} → ${after} (${pct(b.successRate)} → ${pct(c.successRate)}; ${test})`,
      };
    },
  });
  better.push({
    cell,
    p: fisherLowerP(c.satisfied, c.repeats, b.satisfied, b.repeats),
    bigEnough: -drop >= o.minRatioChange,
    make: (significant, p, adjusted) => {
      const passesNow = !b.pass && c.pass;
      if (!passesNow && !significant) return null;
      return {
        kind: passesNow ? 'passes-now' : 'ratio-rise',
        regression: false,
        significant,
        p,
        adjustedP: adjusted,
        before,
        after,
        detail: `${passesNow ? 'passes now' : 'success ratio rose'}${significant ? '' : ', within the noise of the baseline'}: ${before} → ${after} (Fisher p=${fmtP(p)}, Holm ${fmtP(adjusted)})`,
      };
    },
  });
}

function pathTests(
  cell: CellComparison,
  b: ReportCell,
  c: ReportCell,
  o: CompareOptions,
  worse: Pending[],
  better: Pending[],
): void {
  const usualBefore = usualPath(b.paths);
  const usualAfter = usualPath(c.paths);
  const xb = pathRanks(b.paths);
  const xc = pathRanks(c.paths);
  if (usualBefore === null || xc.length === 0) return;
  const share = (ranks: number[], pred: (r: number) => boolean): number =>
    ranks.filter(pred).length / ranks.length;
  const line = (paths: PathCounts, usual: RankedPath | null): string =>
    usual === null
      ? 'none connected'
      : `${usual} ${paths[usual]}/${RANKED.reduce((s, p) => s + paths[p], 0)}`;
  const before = line(b.paths, usualBefore);
  const after = line(c.paths, usualAfter);
  const shiftWorse = share(xc, (r) => r > RANK[usualBefore]) - share(xb, (r) => r > RANK[usualBefore]);
  const shiftBetter = share(xc, (r) => r < RANK[usualBefore]) - share(xb, (r) => r < RANK[usualBefore]);
  worse.push({
    cell,
    p: mannWhitneyGreaterP(xc, xb),
    bigEnough: shiftWorse >= o.minRatioChange,
    make: (significant, p, adjusted) =>
      significant
        ? {
            kind: 'path-downgrade',
            regression: true,
            significant,
            p,
            adjustedP: adjusted,
            before,
            after,
            detail: `path worse: ${before} → ${after} (worse than ${usualBefore} in ${pct(share(xb, (r) => r > RANK[usualBefore]))} → ${pct(share(xc, (r) => r > RANK[usualBefore]))} of connections; Mann–Whitney p=${fmtP(p)}, Holm ${fmtP(adjusted)})`,
          }
        : null,
  });
  better.push({
    cell,
    p: mannWhitneyGreaterP(xb, xc),
    bigEnough: shiftBetter >= o.minRatioChange,
    make: (significant, p, adjusted) =>
      significant
        ? {
            kind: 'path-upgrade',
            regression: false,
            significant,
            p,
            adjustedP: adjusted,
            before,
            after,
            detail: `path better: ${before} → ${after} (Mann–Whitney p=${fmtP(p)}, Holm ${fmtP(adjusted)})`,
          }
        : null,
  });
}

/** The slowdown (or speed-up) a cell must show before it counts, ms. */
export function timeTolerance(baselineMedianMs: number, o: CompareOptions): number {
  return Math.max(o.minSlowdownMs, o.minSlowdown * baselineMedianMs);
}

function timeTests(
  cell: CellComparison,
  b: ReportCell,
  c: ReportCell,
  o: CompareOptions,
  worse: Pending[],
  better: Pending[],
): void {
  const tb = connectedTimes(b);
  const tc = connectedTimes(c);
  if (tb === null || tc === null) {
    cell.timeSkipped = `${tb === null ? 'the baseline' : 'this run'} has no per-repeat times (report format 1)`;
    return;
  }
  if (tb.length === 0 || tc.length === 0) {
    cell.timeSkipped = `no connected repeat in ${tb.length === 0 ? 'the baseline' : 'this run'}`;
    return;
  }
  const tolerance = timeTolerance(median(tb), o);
  const shift = hodgesLehmannShift(tc, tb);
  const before = fmtMs(median(tb));
  const after = fmtMs(median(tc));
  const detail = (word: string, p: number, adjusted: number): string =>
    `${word}: median ${before} → ${after} (shift ${shift >= 0 ? '+' : ''}${fmtMs(shift)}, tolerance ${fmtMs(tolerance)}; Mann–Whitney p=${fmtP(p)}, Holm ${fmtP(adjusted)}; ${tb.length} vs ${tc.length} times)`;
  worse.push({
    cell,
    p: mannWhitneyGreaterP(
      tc.map((t) => t - tolerance),
      tb,
    ),
    bigEnough: true,
    make: (significant, p, adjusted) =>
      significant
        ? {
            kind: 'slower',
            regression: true,
            significant,
            p,
            adjustedP: adjusted,
            before,
            after,
            detail: detail('slower', p, adjusted),
          }
        : null,
  });
  better.push({
    cell,
    p: mannWhitneyGreaterP(
      tb.map((t) => t - tolerance),
      tc,
    ),
    bigEnough: true,
    make: (significant, p, adjusted) =>
      significant
        ? {
            kind: 'faster',
            regression: false,
            significant,
            p,
            adjustedP: adjusted,
            before,
            after,
            detail: detail('faster', p, adjusted),
          }
        : null,
  });
}

function settle(family: Pending[], alpha: number): void {
  const adjusted = holm(family.map((t) => t.p));
  family.forEach((t, i) => {
    const a = adjusted[i]!;
    const change = t.make(a < alpha && t.bigEnough, t.p, a);
    if (change) t.cell.changes.push(change);
  });
}

function checkOptions(o: CompareOptions): void {
  const bad = (name: string, v: number): never => {
    throw new RangeError(`compare: ${name} out of range: ${v}`);
  };
  if (!(o.alpha > 0 && o.alpha < 1)) bad('alpha', o.alpha);
  if (!(o.minSlowdownMs >= 0)) bad('minSlowdownMs', o.minSlowdownMs);
  if (!(o.minSlowdown >= 0)) bad('minSlowdown', o.minSlowdown);
  if (!(o.minRatioChange >= 0 && o.minRatioChange <= 1)) bad('minRatioChange', o.minRatioChange);
}

export function compareReports(
  baseline: RunReport,
  current: RunReport,
  options: Partial<CompareOptions> = {},
): Comparison {
  const o = { ...DEFAULT_COMPARE, ...options };
  checkOptions(o);
  const before = new Map(baseline.cells.map((c) => [c.text, c]));
  const cells: CellComparison[] = current.cells.map((c) => ({
    text: c.text,
    from: c.from,
    to: c.to,
    current: c,
    baseline: before.get(c.text) ?? null,
    changes: [],
    timeSkipped: null,
  }));
  const seen = new Set(current.cells.map((c) => c.text));
  for (const b of baseline.cells)
    if (!seen.has(b.text))
      cells.push({
        text: b.text,
        from: b.from,
        to: b.to,
        current: null,
        baseline: b,
        changes: [],
        timeSkipped: null,
      });

  const worse: Pending[] = [];
  const better: Pending[] = [];
  for (const cell of cells) {
    const { baseline: b, current: c } = cell;
    if (b === null || c === null) continue;
    ratioTests(cell, b, c, o, worse, better);
    pathTests(cell, b, c, o, worse, better);
    timeTests(cell, b, c, o, worse, better);
  }
  settle(worse, o.alpha);
  settle(better, o.alpha);

  const notes: string[] = [];
  if (baseline.topology !== current.topology)
    notes.push(`the baseline is of topology ${baseline.topology}, this run of ${current.topology}`);
  const added = cells.filter((c) => c.baseline === null).map((c) => c.text);
  const removed = cells.filter((c) => c.current === null).map((c) => c.text);
  if (added.length) notes.push(`not in the baseline (not compared): ${added.join('; ')}`);
  if (removed.length) notes.push(`in the baseline only: ${removed.join('; ')}`);
  if (baseline.version === 1)
    notes.push('the baseline is a format-1 report without per-repeat times: times were not compared');
  notes.push(
    `${worse.length} test(s) of "worse" at family-wise alpha ${o.alpha} (Holm); time tolerance max(${o.minSlowdownMs} ms, ${pct(o.minSlowdown)} of the baseline median); smallest ratio or path-share change ${pct(o.minRatioChange)}`,
  );
  const regressions = cells.flatMap((cell) =>
    cell.changes.filter((c) => c.regression).map((change) => ({ cell, change })),
  );
  return { baseline, current, options: o, cells, regressions, notes };
}

/** Terminal lines: one summary line, then each regression, then the changes within noise. */
export function formatComparison(cmp: Comparison): string {
  const b = cmp.baseline;
  const when = b.run.startedAt ? `, ${b.run.startedAt}` : '';
  const lines = [
    `against baseline ${b.file || '(in memory)'} (${b.topology}${when}): ${cmp.regressions.length === 0 ? 'no regressions' : `${cmp.regressions.length} regression(s)`}`,
  ];
  for (const { cell, change } of cmp.regressions) lines.push(`  ▲ ${cell.text}: ${change.detail}`);
  for (const cell of cmp.cells)
    for (const change of cell.changes)
      if (!change.regression) lines.push(`  · ${cell.text}: ${change.detail}`);
  return `${lines.join('\n')}\n`;
}
