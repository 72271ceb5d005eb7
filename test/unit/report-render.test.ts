import { describe, expect, it } from 'vitest';
import { compareReports } from '../../cli/lab/report/compare.js';
import { toHtml } from '../../cli/lab/report/html.js';
import { loadReport } from '../../cli/lab/report/load.js';
import { markerComment, toMarkdown } from '../../cli/lab/report/markdown.js';
import type { Observation } from '../../cli/lab/verdicts/verdicts.js';
import { down, ok, runOf } from '../support/report-runs.js';

const times = (path: Observation['path'], list: number[]): Observation[] => list.map((ms) => ok(path, ms));
const twenty = (f: (i: number) => Observation): Observation[] => Array.from({ length: 20 }, (_, i) => f(i));

const BASE = runOf(
  [
    { from: 'a', to: 'b', path: 'hole-punched', obs: twenty((i) => ok('hole-punched', 60 + (i % 5))) },
    { from: 'a', to: 'c', path: 'direct', obs: twenty((i) => ok('direct', 30 + (i % 3))) },
    { from: 'd', to: 'b', path: 'relayed', obs: twenty(() => ok('relayed', 600)) },
  ],
  { startedAt: '2025-01-01T00:00:00.000Z', label: 'base123' },
);
const NOW = runOf(
  [
    { from: 'a', to: 'b', path: 'hole-punched', obs: times('hole-punched', [160, 165, 158, 170, 162]) },
    {
      from: 'a',
      to: 'c',
      path: 'direct',
      obs: [down('TimeoutError: no path <x> | y'), ...times('direct', [30, 31, 32, 30])],
    },
    { from: 'd', to: 'b', path: 'relayed', obs: times('relayed', [600, 601, 599, 600, 602]) },
  ],
  {
    startedAt: '2025-01-02T00:00:00.000Z',
    label: 'now4567',
    repeat: { mode: 'fixed', count: 5 },
    natState: 'cold',
    backend: 'netns',
  },
);

describe('the markdown summary', () => {
  it('gives the outcome, the matrix with changes marked, then the regressions', () => {
    const md = toMarkdown(NOW, compareReports(BASE, NOW));
    const lines = md.split('\n');
    expect(lines[0]).toBe(markerComment('mini'));
    expect(lines[1]).toBe('### quicmesh-lab · mini — 🔴 1 regression(s), ❌ 1 of 3 expectation(s) failed');
    expect(md).toContain('5 repeat(s) per cell · NAT state cold · backend netns · label now4567');
    expect(md).toContain('| from \\ to | b | c |');
    expect(md).toContain(
      '| **a** | hole-punched 5/5 · 162 ms<br>🔴 ▲ slower 62 ms → 162 ms | ❌ direct 4/5 · 31 ms<br>⚪ ✗ fails now 20/20 → 4/5 (within noise) |',
    );
    expect(md).toContain('| **d** | relayed 5/5 · 600 ms | · |');
    expect(md).toMatch(
      /#### Regressions \(1\)\n\n- \*\*a -&gt; b: hole-punched\*\* — slower: median 62 ms → 162 ms/,
    );
    // error text from the lab cannot break the table or inject markup
    expect(md).toContain('not connected: TimeoutError: no path &lt;x&gt; \\| y');
    expect(md).toMatch(/#### Flaky cells[^\n]*\n\n- a -&gt; c: direct: 80% \(4\/5, interval 38%–96%\)/);
  });

  it('says all is well without a baseline', () => {
    const md = toMarkdown(BASE);
    expect(md.split('\n')[1]).toBe('### quicmesh-lab · mini — ✅ 3/3 expectations passed');
    expect(md).not.toContain('Regressions');
  });
});

describe('the HTML report', () => {
  const html = toHtml([BASE, NOW], compareReports(BASE, NOW));

  it('is one self-contained file: no script, no fetch', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html).not.toMatch(/<script|<link rel="stylesheet"|src=|url\(/i);
    expect(html.match(/https?:\/\/[^"]+/g)?.every((u) => u === 'http://www.w3.org/2000/svg')).toBe(true);
  });

  it('draws the grid, the distributions and the trend', () => {
    expect(html.match(/<td class="cell/g)).toHaveLength(3);
    expect(html).toContain('<td class="cell failing"');
    expect(html).toContain('<span class="badge bad"');
    expect(html).toMatch(/<svg[^>]*class="dist"/);
    // one dot per connected repeat of this run, one grey dot per baseline repeat
    expect(html.match(/<circle cx="[\d.]+" cy="[\d.]+" r="3"/g)).toHaveLength(14);
    expect(html.match(/class="base"/g)).toHaveLength(60);
    expect(html).toContain('Trend across 2 run(s)');
    expect(html).toContain('oldest left: base123 → now4567');
    expect(html.match(/<svg[^>]*class="spark"/g)).toHaveLength(3);
  });

  it('renders a format-1 report, without distributions', () => {
    const v1 = loadReport('test/fixtures/reports/nat-matrix-v1.json');
    const out = toHtml([v1]);
    expect(out.match(/<td class="cell/g)).toHaveLength(36);
    expect(out).toContain('this report has no per-repeat times (format 1)');
  });
});
