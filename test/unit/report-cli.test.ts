/**
 * The regression flags of `quicmesh-lab test` and the `report` verb from the command line, in process: bad
 * input exits 2 before any lab is built (these tests run without root), `report` renders files of either
 * format version, and a regression maps to exit 3.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureIO } from '../../cli/lab/io.js';
import { RegressionError } from '../../cli/lab/report/regression.js';
import { toJsonReport } from '../../cli/lab/verdicts/json.js';
import { computeVerdicts } from '../../cli/lab/verdicts/verdicts.js';
import { describeError, EXIT_REGRESSION, main } from '../../cli/quicmesh-lab.js';
import { expectation, ok } from '../support/report-runs.js';

const V1 = 'test/fixtures/reports/nat-matrix-v1.json';
const dir = mkdtempSync(join(tmpdir(), 'report-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function lab(...args: string[]) {
  const io = captureIO();
  const code = await main(args, io);
  return { code, out: io.out.join(''), err: io.err.join('') };
}

/** A version-2 report of nat-matrix's first expectation, `ms` per repeat. */
function v2Run(name: string, ms: number[], startedAt: string): string {
  const report = computeVerdicts(
    [
      {
        expectation: { ...expectation('a-none', 'b-none', 'direct', 76) },
        repeats: ms.map((t) => ok('direct', t)),
      },
    ],
    { topology: 'nat-matrix' },
  );
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(toJsonReport(report, { startedAt, label: name.replace('.json', '') })));
  return file;
}

describe('quicmesh-lab test: regression flags', () => {
  const bad = async (...args: string[]) => {
    const r = await lab('test', 'topologies/quickstart.yaml', ...args);
    expect(r.code, r.err).toBe(2);
    expect(r.out).toBe('');
    return r.err;
  };

  it('exits 2 for a bad flag or baseline, before building anything', async () => {
    expect(await bad('--repeat', 'often')).toBe(
      'quicmesh-lab: --repeat: expected a whole number ≥ 1 or "auto", got often\n',
    );
    expect(await bad('--repeat', 'auto', '--max-repeat', '2')).toMatch(
      /--max-repeat: expected a whole number ≥ --min-repeat \(5\), got 2/,
    );
    expect(await bad('--update-baseline')).toMatch(
      /--update-baseline: name the baseline file with --baseline FILE/,
    );
    expect(await bad('--baseline', join(dir, 'none.json'))).toMatch(/none\.json: no such file/);
    expect(await bad('--baseline', V1)).toMatch(
      /--baseline: .*nat-matrix-v1\.json is a report of topology nat-matrix, not quickstart/,
    );
    expect(await bad('--alpha', '1.5')).toMatch(/--alpha: expected a number in \(0, 1\), got 1\.5/);
    expect(await bad('--min-ratio-change', '-1')).toMatch(/--min-ratio-change/);
    expect(await bad('--markdown', join(dir, 'no/such/dir.md'))).toMatch(
      /--markdown: directory .* does not exist/,
    );
  });

  it('maps a regression to exit 3', () => {
    expect(EXIT_REGRESSION).toBe(3);
    expect(describeError(new RegressionError('2 regression(s) against the baseline b.json'))).toEqual({
      code: 3,
      text: 'quicmesh-lab: 2 regression(s) against the baseline b.json\n',
    });
  });
});

describe('quicmesh-lab report', () => {
  it('renders a run against its baselines as HTML and markdown', async () => {
    const old = v2Run('old.json', [40, 41, 42, 40, 41, 40, 42, 41, 40, 41], '2025-01-01T00:00:00.000Z');
    const mid = v2Run('mid.json', [40, 41, 42, 40, 41, 40, 42, 41, 40, 41], '2025-01-02T00:00:00.000Z');
    const now = v2Run('now.json', [140, 141, 142, 140, 141], '2025-01-03T00:00:00.000Z');
    const html = join(dir, 'r.html');
    const md = join(dir, 'r.md');
    const r = await lab('report', now, mid, old, V1, '-o', html, '--markdown', md);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^against baseline .*mid\.json \(nat-matrix, 2025-01-02T00:00:00\.000Z\): 1 regression\(s\)\n  ▲ a-none -> b-none: direct: slower/,
    );
    expect(r.out).toContain(`wrote ${html}\n`);
    const page = readFileSync(html, 'utf8');
    // the trend runs oldest first: the format-1 report has no start time, then by start time, then the run
    expect(page).toContain('oldest left: nat-matrix-v1.json → old → mid → now');
    expect(readFileSync(md, 'utf8')).toMatch(/🔴 1 regression\(s\)/);
  });

  it('exits 2 for nothing to write, a missing file or another topology', async () => {
    expect((await lab('report', V1)).err).toBe(
      'quicmesh-lab: nothing to write: give -o report.html and/or --markdown FILE\n',
    );
    const missing = await lab('report', join(dir, 'gone.json'), '-o', join(dir, 'x.html'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/gone\.json: no such file/);
    const other = join(dir, 'other.json');
    writeFileSync(
      other,
      JSON.stringify(
        toJsonReport(
          computeVerdicts([{ expectation: expectation('x', 'y'), repeats: [ok('direct', 1)] }], {
            topology: 'other',
          }),
        ),
      ),
    );
    const mixed = await lab('report', other, V1, '-o', join(dir, 'y.html'));
    expect(mixed.code).toBe(2);
    expect(mixed.err).toMatch(
      /nat-matrix-v1\.json: a report of topology nat-matrix, not other like .*other\.json/,
    );
    expect(existsSync(join(dir, 'y.html'))).toBe(false);
  });
});
