import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import type { Expectation, PathKind } from '../../cli/topology/model.js';
import {
  computeVerdicts,
  pathSatisfies,
  percentile,
  type Observation,
} from '../../cli/lab/verdicts/verdicts.js';

export function expectation(
  from: string,
  to: string,
  path: PathKind = 'any',
  withinMs: number | null = null,
  line = 10,
): Expectation {
  const within = withinMs === null ? '' : ` within ${withinMs}ms`;
  const text = `${from} -> ${to}: ${path}${within}`;
  return { text, source: text, from, to, path, withinMs, line };
}

const ok = (path: Observation['path'], ms: number): Observation => ({
  connected: true,
  path,
  timeToConnectMs: ms,
});
const down = (error?: string): Observation => ({
  connected: false,
  path: null,
  timeToConnectMs: null,
  ...(error ? { error } : {}),
});

describe('verdicts', () => {
  it('treats "direct" as not relayed and the other kinds exactly', () => {
    expect(pathSatisfies('direct', 'direct')).toBe(true);
    expect(pathSatisfies('direct', 'hole-punched')).toBe(true);
    expect(pathSatisfies('direct', 'relayed')).toBe(false);
    expect(pathSatisfies('hole-punched', 'direct')).toBe(false);
    expect(pathSatisfies('relayed', 'relayed')).toBe(true);
    expect(pathSatisfies('any', null)).toBe(true);
  });

  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 20 }, (_, i) => (i + 1) * 10);
    expect(percentile(values, 50)).toBe(100);
    expect(percentile(values, 95)).toBe(190);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });

  it('passes an expectation only when every repeat satisfied it, by default', () => {
    const report = computeVerdicts(
      [
        {
          expectation: expectation('a', 'b', 'direct'),
          repeats: [ok('direct', 30), ok('hole-punched', 50), ok('direct', 40)],
        },
        {
          expectation: expectation('a', 'c', 'direct'),
          repeats: [ok('direct', 30), ok('relayed', 90), down('timeout')],
        },
      ],
      { topology: 't' },
    );
    expect(report).toMatchObject({ topology: 't', passThreshold: 1, passed: 1, failed: 1, pass: false });
    const [first, second] = report.verdicts;
    expect(first).toMatchObject({
      repeats: 3,
      satisfied: 3,
      successRate: 1,
      pass: true,
      p50Ms: 40,
      p95Ms: 50,
    });
    expect(first!.paths).toEqual({ direct: 2, 'hole-punched': 1, relayed: 0, failed: 0, unknown: 0 });
    expect(second).toMatchObject({ satisfied: 1, pass: false, p50Ms: 30, p95Ms: 90 });
    expect(second!.reasons).toEqual([
      { reason: 'path relayed, expected direct', count: 1 },
      { reason: 'not connected: timeout', count: 1 },
    ]);
  });

  it('applies a configurable threshold', () => {
    const results = [
      {
        expectation: expectation('a', 'b'),
        repeats: [ok('direct', 1), ok('direct', 1), ok('direct', 1), down()],
      },
    ];
    expect(computeVerdicts(results, { passThreshold: 0.75 }).pass).toBe(true);
    expect(computeVerdicts(results, { passThreshold: 0.8 }).pass).toBe(false);
    expect(() => computeVerdicts(results, { passThreshold: 0 })).toThrow(ConfigError);
    expect(() => computeVerdicts(results, { passThreshold: 1.5 })).toThrow(
      'pass threshold must be in (0, 1], got 1.5',
    );
  });

  it('checks time-to-connect bounds', () => {
    const report = computeVerdicts([
      {
        expectation: expectation('a', 'b', 'any', 100),
        repeats: [
          ok('direct', 100),
          ok('direct', 101),
          ok('relayed', 300),
          { connected: true, path: 'direct', timeToConnectMs: null },
        ],
      },
    ]);
    expect(report.verdicts[0]).toMatchObject({ satisfied: 1, pass: false });
    expect(report.verdicts[0]!.reasons).toEqual([
      { reason: 'slower than 100ms', count: 2 },
      { reason: 'time to connect not reported', count: 1 },
    ]);
  });

  it('fails an expectation without results, and a report without expectations', () => {
    const report = computeVerdicts([{ expectation: expectation('a', 'b'), repeats: [] }]);
    expect(report.verdicts[0]).toMatchObject({
      repeats: 0,
      successRate: 0,
      pass: false,
      p50Ms: null,
      reasons: [{ reason: 'no results', count: 0 }],
    });
    expect(computeVerdicts([]).pass).toBe(false);
  });
});
