/**
 * The markdown summary (`quicmesh-lab test --markdown FILE`, `quicmesh-lab report --markdown FILE`): fit for a
 * pull-request comment or a CI job summary. A headline with the outcome, the from × to matrix with each
 * cell's path, satisfied/repeats and median time and its changes against the baseline marked, then the
 * regressions, the failing expectations, the flaky cells (success ratio with its interval) and, folded,
 * the other changes and how they were judged. The first line is an HTML comment naming the topology, so a CI
 * step can find and update its own earlier comment.
 */
import type { Comparison } from './compare.js';
import {
  changeBadge,
  changesByText,
  fmtMs,
  gridKey,
  gridOf,
  medianMs,
  pct,
  runLine,
  shownPath,
} from './cells.js';
import type { ReportCell, RunReport } from './load.js';

/** Text safe inside a markdown table cell or list item. */
function md(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/([*_`[\]])/g, '\\$1');
}

export function markerComment(topology: string): string {
  return `<!-- quicmesh-lab report: ${topology.replace(/--/g, '-')} -->`;
}

function headline(run: RunReport, cmp: Comparison | null): string {
  const total = run.cells.length;
  const parts: string[] = [];
  if (cmp && cmp.regressions.length > 0) parts.push(`🔴 ${cmp.regressions.length} regression(s)`);
  if (!run.pass) parts.push(`❌ ${run.failed} of ${total} expectation(s) failed`);
  if (parts.length === 0)
    parts.push(`✅ ${run.passed}/${total} expectations passed${cmp ? ', no regressions' : ''}`);
  return `### quicmesh-lab · ${md(run.topology)} — ${parts.join(', ')}`;
}

function cellText(c: ReportCell, cmp: Comparison | null): string {
  const cell = changesByText(cmp).get(c.text);
  const head = `${c.pass ? '' : '❌ '}${shownPath(c)} ${c.satisfied}/${c.repeats} · ${fmtMs(medianMs(c))}`;
  const marks = (cell?.changes ?? []).map((ch) => {
    const b = changeBadge(ch);
    const dot = b.tone === 'bad' ? '🔴' : b.tone === 'good' ? '🟢' : '⚪';
    return `${dot} ${b.symbol} ${md(b.text)}`;
  });
  return [head, ...marks].join('<br>');
}

function matrix(run: RunReport, cmp: Comparison | null): string[] {
  const grid = gridOf(run);
  const lines = [
    `| from \\ to | ${grid.cols.map(md).join(' | ')} |`,
    `| --- | ${grid.cols.map(() => '---').join(' | ')} |`,
  ];
  for (const r of grid.rows) {
    const cells = grid.cols.map((c) => {
      const list = grid.cells.get(gridKey(r, c));
      return list ? list.map((x) => cellText(x, cmp)).join('<br>') : '·';
    });
    lines.push(`| **${md(r)}** | ${cells.join(' | ')} |`);
  }
  return lines;
}

export function toMarkdown(run: RunReport, cmp: Comparison | null = null): string {
  const out: string[] = [markerComment(run.topology), headline(run, cmp), ''];
  const about = runLine(run);
  if (about) out.push(`${md(about)}.`);
  if (cmp) {
    const b = cmp.baseline;
    const when = [b.run.label, b.run.startedAt].filter(Boolean).join(', ');
    out.push(`Compared with the baseline \`${md(b.file || 'in memory')}\`${when ? ` (${md(when)})` : ''}.`);
  }
  out.push('', ...matrix(run, cmp), '');
  out.push(
    'Cells: the path most repeats took, satisfied/repeats, median time to connect. 🔴 regression, 🟢 improvement, ⚪ within noise; ▲▼ time, ⇣⇡ path, ↘↗ success ratio, ✗✓ expectation.',
    '',
  );

  if (cmp && cmp.regressions.length > 0) {
    out.push(`#### Regressions (${cmp.regressions.length})`, '');
    for (const { cell, change } of cmp.regressions) out.push(`- **${md(cell.text)}** — ${md(change.detail)}`);
    out.push('');
  }
  const failing = run.cells.filter((c) => !c.pass);
  if (failing.length > 0) {
    out.push(`#### Failing expectations (${failing.length})`, '');
    for (const c of failing) {
      const reasons = c.reasons.map((r) => (r.count > 1 ? `${r.reason} ×${r.count}` : r.reason)).join('; ');
      out.push(
        `- **${md(c.text)}** (line ${c.line}): ${c.satisfied}/${c.repeats} satisfied${reasons ? ` — ${md(reasons)}` : ''}`,
      );
    }
    out.push('');
  }
  const flaky = run.cells.filter((c) => c.repeats > 0 && c.satisfied < c.repeats);
  if (flaky.length > 0) {
    out.push(`#### Flaky cells (success ratio, ${pct(run.confidence)} Wilson interval)`, '');
    for (const c of flaky)
      out.push(
        `- ${md(c.text)}: ${pct(c.successRate)} (${c.satisfied}/${c.repeats}, interval ${pct(c.successInterval.low)}–${pct(c.successInterval.high)})`,
      );
    out.push('');
  }
  if (cmp) {
    const others = cmp.cells.flatMap((cell) =>
      cell.changes.filter((c) => !c.regression).map((change) => ({ cell, change })),
    );
    if (others.length > 0) {
      out.push('<details><summary>Other changes (' + others.length + ')</summary>', '');
      for (const { cell, change } of others) out.push(`- ${md(cell.text)} — ${md(change.detail)}`);
      out.push('', '</details>', '');
    }
    out.push('<details><summary>How changes are judged</summary>', '');
    for (const note of cmp.notes) out.push(`- ${md(note)}`);
    out.push(
      '- time: one-sided Mann–Whitney U on the per-repeat times, shifted by the tolerance; path: the same test on path ranks (direct < hole-punched < relayed); success ratio: one-sided Fisher exact test. See docs/report-format.md.',
      '',
      '</details>',
      '',
    );
  }
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
