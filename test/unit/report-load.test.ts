import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { loadReport, reportFromJson } from '../../cli/lab/report/load.js';
import { toJsonReport } from '../../cli/lab/verdicts/json.js';
import { computeVerdicts } from '../../cli/lab/verdicts/verdicts.js';
import { down, expectation, ok } from '../support/report-runs.js';

const V1 = 'test/fixtures/reports/nat-matrix-v1.json';

describe('loading JSON reports', () => {
  it('reads a version-1 report (a real nat-matrix run) as a baseline', () => {
    const r = loadReport(V1);
    expect(r).toMatchObject({ version: 1, topology: 'nat-matrix', passed: 35, failed: 1, confidence: 0.95 });
    expect(r.run).toEqual({ startedAt: null, label: null, backend: null, natState: null, repeat: null });
    expect(r.cells).toHaveLength(36);
    const cell = r.cells.find((c) => c.text === 'a-port -> b-cgnat: hole-punched')!;
    expect(cell).toMatchObject({ repeats: 3, satisfied: 2, pass: false, samples: null });
    // the interval is computed from the counts a version-1 report has
    expect(cell.successInterval.low).toBeCloseTo(0.2077, 4);
    expect(cell.successInterval.high).toBeCloseTo(0.9385, 4);
  });

  it('round-trips a version-2 report with its samples and run information', () => {
    const report = computeVerdicts(
      [
        {
          expectation: expectation('a', 'b', 'direct'),
          repeats: [ok('hole-punched', 61.5), down('timeout'), ok('relayed', 600)],
        },
      ],
      { topology: 't' },
    );
    const json = toJsonReport(report, {
      startedAt: '2025-01-02T03:04:05.000Z',
      label: 'abc1234',
      backend: 'netns',
      natState: 'cold',
      repeat: { mode: 'fixed', count: 3 },
    });
    expect(json.version).toBe(2);
    const r = reportFromJson(JSON.parse(JSON.stringify(json)), 'x.json');
    expect(r.run).toEqual(json.run);
    expect(r.cells[0]!.samples).toEqual([
      { path: 'hole-punched', ms: 61.5, ok: true },
      { path: 'failed', ms: null, ok: false },
      { path: 'relayed', ms: 600, ok: false },
    ]);
    expect(r.cells[0]!.successInterval).toEqual(json.expectations[0]!.successInterval);
  });

  it('names the file and the problem for anything else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-load-'));
    const file = (name: string, text: string): string => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const fail = (path: string) => {
      try {
        loadReport(path);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('no error');
    };
    expect(fail(join(dir, 'missing.json'))).toMatch(/missing\.json: no such file$/);
    expect(fail(file('bad.json', '{"version": 1,'))).toMatch(/bad\.json: not JSON \(/);
    expect(fail(file('array.json', '[]'))).toMatch(
      /array\.json: not a quicmesh-lab JSON report \(no "version" field\)/,
    );
    expect(fail(file('future.json', '{"version": 3}'))).toMatch(
      /future\.json: report format version 3 is not one this quicmesh-lab reads \(1 to 2\)/,
    );
    const v2 = toJsonReport(
      computeVerdicts([{ expectation: expectation('a', 'b'), repeats: [ok('direct', 1)] }]),
    );
    (v2.expectations[0]!.samples[0] as { path: string }).path = 'teleported';
    expect(fail(file('field.json', JSON.stringify(v2)))).toMatch(
      /field\.json: not a valid version-2 report: expectations\[0\]\.samples\[0\]\.path: /,
    );
  });
});
