/**
 * The terminal view of a verdict report: a from × to matrix (cell = path and satisfied/repeats, "✗" when
 * the expectation failed), a summary line, and one line per failed expectation with its reasons.
 * Plain text, no colour, so it reads the same in a CI log.
 */
import type { ExpectationVerdict, VerdictReport } from './verdicts.js';

/** The cell's path word: the expected kind, or for `any` what most repeats took. */
function cellPath(verdict: ExpectationVerdict): string {
  if (verdict.expectation.path !== 'any') return verdict.expectation.path;
  let best = 'failed';
  let bestCount = 0;
  for (const [path, count] of Object.entries(verdict.paths)) {
    if (count > bestCount) {
      best = path;
      bestCount = count;
    }
  }
  return best;
}

export function matrixCell(verdict: ExpectationVerdict): string {
  return `${cellPath(verdict)} ${verdict.satisfied}/${verdict.repeats}${verdict.pass ? '' : ' ✗'}`;
}

/** Rows are sources, columns destinations, in order of first appearance; empty cells show "·". */
export function formatMatrix(report: VerdictReport): string {
  const rows: string[] = [];
  const cols: string[] = [];
  const cells = new Map<string, string>();
  for (const verdict of report.verdicts) {
    const { from, to } = verdict.expectation;
    if (!rows.includes(from)) rows.push(from);
    if (!cols.includes(to)) cols.push(to);
    const key = `${from}\n${to}`;
    const prior = cells.get(key);
    cells.set(key, prior === undefined ? matrixCell(verdict) : `${prior}; ${matrixCell(verdict)}`);
  }
  const corner = 'from \\ to';
  const table = [
    [corner, ...cols],
    ...rows.map((r) => [r, ...cols.map((c) => cells.get(`${r}\n${c}`) ?? '·')]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => (row[i] as string).length)));
  return (
    table
      .map((row) =>
        row
          .map((cell, i) => cell.padEnd(widths[i] as number))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export function formatSummary(report: VerdictReport): string {
  const total = report.verdicts.length;
  const threshold = `${Math.round(report.passThreshold * 1000) / 10}%`;
  const name = report.topology ? `${report.topology}: ` : '';
  return `${name}${report.passed}/${total} expectations passed (threshold ${threshold} of repeats)${report.pass ? '' : ' — FAILED'}\n`;
}

/** Control characters from error texts shown as \xNN, so they cannot upset the terminal. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function formatFailures(report: VerdictReport): string {
  return report.verdicts
    .filter((v) => !v.pass)
    .map((v) => {
      const reasons = v.reasons
        .map((r) => printable(r.count > 1 ? `${r.reason} ×${r.count}` : r.reason))
        .join('; ');
      return `✗ ${v.expectation.text} (line ${v.expectation.line}): ${v.satisfied}/${v.repeats} satisfied${reasons ? ` — ${reasons}` : ''}\n`;
    })
    .join('');
}

/** Matrix, summary and failures together: what `quicmesh-lab test` prints. */
export function formatReport(report: VerdictReport): string {
  return `${formatMatrix(report)}\n${formatSummary(report)}${formatFailures(report)}`;
}
