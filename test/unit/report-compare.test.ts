import { describe, expect, it } from 'vitest';
import {
  compareReports,
  formatComparison,
  timeTolerance,
  DEFAULT_COMPARE,
} from '../../cli/lab/report/compare.js';
import { loadReport } from '../../cli/lab/report/load.js';
import type { Observation } from '../../cli/lab/verdicts/verdicts.js';
import { down, ok, runOf, seeded, timeAround, type CellSpec } from '../support/report-runs.js';

const times = (path: Observation['path'], list: number[]): Observation[] => list.map((ms) => ok(path, ms));
const repeat = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

describe('comparing a run with its baseline', () => {
  it('finds nothing between a run and itself', () => {
    const run = runOf([
      { from: 'a', to: 'b', path: 'direct', obs: times('hole-punched', [60, 62, 58, 61, 70]) },
    ]);
    const cmp = compareReports(run, run);
    expect(cmp.regressions).toEqual([]);
    expect(cmp.cells[0]!.changes).toEqual([]);
    expect(formatComparison(cmp)).toMatch(/no regressions/);
  });

  it('flags a slowdown beyond the tolerance and names the cell', () => {
    const base = runOf([
      {
        from: 'a',
        to: 'b',
        obs: times(
          'hole-punched',
          repeat(20, (i) => 60 + (i % 5)),
        ),
      },
      {
        from: 'a',
        to: 'c',
        obs: times(
          'direct',
          repeat(20, (i) => 30 + (i % 4)),
        ),
      },
    ]);
    const now = runOf([
      { from: 'a', to: 'b', obs: times('hole-punched', [161, 158, 170, 165, 160]) },
      { from: 'a', to: 'c', obs: times('direct', [31, 33, 30, 32, 30]) },
    ]);
    const cmp = compareReports(base, now);
    expect(cmp.regressions).toHaveLength(1);
    const [{ cell, change }] = cmp.regressions as [(typeof cmp.regressions)[number]];
    expect(cell.text).toBe('a -> b: any');
    expect(change).toMatchObject({ kind: 'slower', regression: true, before: '62 ms', after: '161 ms' });
    expect(change.detail).toMatch(/shift \+\d+(\.\d)? ms, tolerance 25 ms/);
    expect(formatComparison(cmp)).toMatch(
      /1 regression\(s\)\n  ▲ a -> b: any: slower: median 62 ms → 161 ms/,
    );
  });

  it('does not call a small but certain slowdown a regression (2 ms on 60 ms)', () => {
    const base = runOf([
      {
        from: 'a',
        to: 'b',
        obs: times(
          'hole-punched',
          repeat(20, (i) => 60 + (i % 3) / 10),
        ),
      },
    ]);
    const now = runOf([
      {
        from: 'a',
        to: 'b',
        obs: times(
          'hole-punched',
          repeat(20, (i) => 62 + (i % 3) / 10),
        ),
      },
    ]);
    const cmp = compareReports(base, now);
    expect(cmp.regressions).toEqual([]);
    // the same data with no tolerance at all is a significant slowdown: the floor is what keeps it out
    const strict = compareReports(base, now, { minSlowdownMs: 0, minSlowdown: 0 });
    expect(strict.regressions.map((r) => r.change.kind)).toEqual(['slower']);
    expect(timeTolerance(60, DEFAULT_COMPARE)).toBe(25);
    expect(timeTolerance(600, DEFAULT_COMPARE)).toBe(150);
  });

  it('needs enough repeats before it calls anything', () => {
    const base = runOf([{ from: 'a', to: 'b', obs: times('hole-punched', [60, 61]) }]);
    const now = runOf([{ from: 'a', to: 'b', obs: times('hole-punched', [300]) }]);
    expect(compareReports(base, now).regressions).toEqual([]);
  });

  it('flags a path downgrade, and a path upgrade as an improvement', () => {
    const base = runOf([
      {
        from: 'a',
        to: 'b',
        obs: times(
          'hole-punched',
          repeat(20, () => 60),
        ),
      },
      {
        from: 'a',
        to: 'c',
        obs: times(
          'relayed',
          repeat(20, () => 600),
        ),
      },
    ]);
    const now = runOf([
      {
        from: 'a',
        to: 'b',
        obs: times(
          'relayed',
          repeat(5, () => 610),
        ),
      },
      {
        from: 'a',
        to: 'c',
        obs: times(
          'hole-punched',
          repeat(5, () => 590),
        ),
      },
    ]);
    const cmp = compareReports(base, now);
    expect(cmp.regressions.map((r) => [r.cell.text, r.change.kind])).toEqual([
      ['a -> b: any', 'path-downgrade'],
      ['a -> b: any', 'slower'],
    ]);
    expect(cmp.regressions[0]!.change.detail).toMatch(/^path worse: hole-punched 20\/20 → relayed 5\/5/);
    expect(cmp.cells[1]!.changes.map((c) => [c.kind, c.regression])).toEqual([['path-upgrade', false]]);
  });

  it('leaves a few stray relayed repeats alone', () => {
    const base = runOf([
      {
        from: 'a',
        to: 'b',
        obs: [
          ...times(
            'hole-punched',
            repeat(19, () => 60),
          ),
          ok('relayed', 600),
        ],
      },
    ]);
    const now = runOf([
      {
        from: 'a',
        to: 'b',
        obs: [
          ...times(
            'hole-punched',
            repeat(4, () => 60),
          ),
          ok('relayed', 600),
        ],
      },
    ]);
    expect(compareReports(base, now).regressions).toEqual([]);
  });

  it('flags a success-ratio drop, and a failure within noise only as a change', () => {
    const base = runOf([
      {
        from: 'a',
        to: 'b',
        obs: times(
          'direct',
          repeat(20, () => 30),
        ),
      },
      {
        from: 'a',
        to: 'c',
        obs: times(
          'direct',
          repeat(20, () => 30),
        ),
      },
    ]);
    const now = runOf([
      { from: 'a', to: 'b', obs: [...repeat(8, () => down()), ...times('direct', [30, 31])] },
      { from: 'a', to: 'c', obs: [down(), ...times('direct', [30, 31, 30, 29])] },
    ]);
    const cmp = compareReports(base, now);
    expect(cmp.regressions.map((r) => [r.cell.text, r.change.kind])).toEqual([['a -> b: any', 'fails-now']]);
    expect(cmp.regressions[0]!.change.detail).toMatch(/^now fails: 20\/20 → 2\/10 satisfied \(Fisher p=/);
    const noise = cmp.cells[1]!.changes;
    expect(noise.map((c) => [c.kind, c.regression])).toEqual([['fails-now', false]]);
    expect(noise[0]!.detail).toMatch(/within the noise of the baseline: 20\/20 → 4\/5/);
  });

  it('marks a cell that passes again', () => {
    const base = runOf([{ from: 'a', to: 'b', path: 'direct', obs: [down(), ...times('direct', [30])] }]);
    const now = runOf([{ from: 'a', to: 'b', path: 'direct', obs: times('direct', [30, 30]) }]);
    expect(compareReports(base, now).cells[0]!.changes.map((c) => c.kind)).toEqual(['passes-now']);
  });

  it('compares with a format-1 baseline without times, and lists cells on one side only', () => {
    const v1 = loadReport('test/fixtures/reports/nat-matrix-v1.json');
    const cells: CellSpec[] = v1.cells
      .slice(0, 2)
      .map((c) => ({ from: c.from, to: c.to, path: c.path, obs: times('direct', [40, 41, 42]) }));
    cells.push({ from: 'x', to: 'y', obs: times('direct', [1]) });
    const now = runOf(cells, {}, 'nat-matrix');
    now.cells[0]!.text = v1.cells[0]!.text;
    const cmp = compareReports(v1, now);
    expect(cmp.cells.find((c) => c.text === 'a-none -> b-none: direct')!.timeSkipped).toMatch(/format 1/);
    expect(cmp.notes.join('\n')).toMatch(/not in the baseline \(not compared\): x -> y: any/);
    expect(cmp.notes.join('\n')).toMatch(/in the baseline only: .*a-full -> b-none: direct/);
    expect(cmp.notes.join('\n')).toMatch(/format-1 report without per-repeat times/);
  });

  it('rejects thresholds out of range', () => {
    const run = runOf([{ from: 'a', to: 'b', obs: times('direct', [1]) }]);
    expect(() => compareReports(run, run, { alpha: 0 })).toThrow(/alpha/);
    expect(() => compareReports(run, run, { minRatioChange: 2 })).toThrow(/minRatioChange/);
  });

  // The method on the NAT matrix's shape: 36 cells, a 20-repeat baseline, runs of 5 repeats.
  const medians = repeat(36, (i) => [30, 45, 65, 90, 600][i % 5]!);
  const simulate = (rand: () => number, n: number, factor: number, slow: ReadonlySet<number>) =>
    runOf(
      medians.map((m, i) => ({
        from: `a${Math.floor(i / 6)}`,
        to: `b${i % 6}`,
        obs: repeat(n, () =>
          ok(m === 600 ? 'relayed' : 'hole-punched', timeAround(rand, m) * factor + (slow.has(i) ? 100 : 0)),
        ),
      })),
    );

  it('raises no false alarm on an unchanged build, even with every time 15% slower (busy runner)', () => {
    const rand = seeded(42);
    let alarms = 0;
    for (let t = 0; t < 100; t++) {
      const base = simulate(rand, 20, 1, new Set());
      const now = simulate(rand, 5, 1.15, new Set());
      if (compareReports(base, now).regressions.length > 0) alarms++;
    }
    expect(alarms).toBeLessThanOrEqual(2);
  });

  it('catches punching delayed by 100 ms in runs of 8 repeats, naming the cells and no others', () => {
    const rand = seeded(7);
    const slow = new Set([2, 7, 12, 17, 22, 27, 32]); // cells whose median is 65 ms
    for (let t = 0; t < 30; t++) {
      const base = simulate(rand, 20, 1, new Set());
      const now = simulate(rand, 8, 1.15, slow);
      const flagged = new Set(compareReports(base, now).regressions.map((r) => r.cell.text));
      const expected = new Set([...slow].map((i) => `a${Math.floor(i / 6)} -> b${i % 6}: any`));
      expect(flagged).toEqual(expected);
    }
  });
});
