/**
 * The HTML report (`quicmesh-lab report RUN.json [BASELINE.json…] -o report.html`): one self-contained file —
 * inline CSS and SVG, no script, a Content-Security-Policy that forbids any fetch — with the run's matrix
 * as a coloured grid (fill = the path most repeats took, bar = success ratio with its interval, badges =
 * changes against the baseline), the time-to-connect distribution of every cell beside the baseline's, and
 * the trend of every cell across all the runs given (oldest first).
 */
import { basename } from 'node:path';
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
import { pathSatisfies } from '../verdicts/verdicts.js';
import { distributionSvg, esc, PATH_COLOURS, pathStripSvg, runsSvg, sparklineSvg } from './svg.js';

/** A short name for a run in charts: its label, else its start time, else its file name. */
export function runName(run: RunReport): string {
  if (run.run.label) return run.run.label;
  if (run.run.startedAt) return run.run.startedAt.replace('T', ' ').slice(0, 16);
  return run.file ? basename(run.file) : 'this run';
}

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d1d1f;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.status{font-size:16px;font-weight:600;margin:4px 0}.status.bad{color:#b3261e}.status.good{color:#1b7f3b}
.muted{color:#666}table{border-collapse:separate;border-spacing:3px}
table.grid th{font-weight:600;padding:4px 6px;text-align:center;white-space:nowrap}
table.grid th.row{text-align:right}
td.cell{min-width:112px;vertical-align:top;padding:5px 6px;border:1px solid;border-radius:4px;font-size:12px}
td.cell.failing{outline:3px solid #b3261e;outline-offset:-1px}
td.empty{color:#bbb;text-align:center}
.path{font-weight:600}.ci{color:#555}.ms{font-variant-numeric:tabular-nums}
.bar{position:relative;height:5px;background:#fff;border:1px solid #999;margin:3px 0;border-radius:2px}
.bar span{position:absolute;left:0;top:0;bottom:0;background:#444}
.bar i{position:absolute;top:-3px;height:9px;border-left:1px solid #000;border-right:1px solid #000}
.badge{display:block;margin-top:2px;padding:0 3px;border-radius:3px;font-weight:600}
.badge.bad{background:#b3261e;color:#fff}.badge.good{background:#1b7f3b;color:#fff}.badge.noise{background:#eee;color:#333}
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:12px;height:12px;border:1px solid;vertical-align:-2px;margin-right:4px}
ul.changes li{margin:2px 0}
svg text{font:11px system-ui,sans-serif}svg .tick{fill:#666;text-anchor:middle}svg .label{text-anchor:end;fill:#222}
svg .grid{stroke:#eee}svg .base{fill:#9e9e9e;fill-opacity:.6}svg .bmed{stroke:#9e9e9e;stroke-width:2}svg .fail{fill:#b3261e}
svg.spark path{fill:none;stroke:#1f5fa8;stroke-width:1.5}svg.spark circle{fill:#1f5fa8}
svg .ok{fill:#1b7f3b;text-anchor:middle}svg .bad{fill:#b3261e;text-anchor:middle}svg rect.none{fill:#fff;stroke:#ccc}
table.trend td{padding:2px 8px;vertical-align:middle}table.trend td.name{font-size:12px}
`;

/** The cell's usual path is not what its expectation asks for (hole-punched meets "direct": not relayed). */
function expectsOther(c: ReportCell): boolean {
  const shown = shownPath(c);
  return shown !== 'failed' && shown !== 'unknown' && !pathSatisfies(c.path, shown);
}

function gridCell(c: ReportCell, cmp: Comparison | null): string {
  const colour = PATH_COLOURS[shownPath(c)]!;
  const changes = changesByText(cmp).get(c.text)?.changes ?? [];
  const ci = c.successInterval;
  const badges = changes
    .map((ch) => {
      const b = changeBadge(ch);
      return `<span class="badge ${b.tone}" title="${esc(ch.detail)}">${b.symbol} ${esc(b.text)}</span>`;
    })
    .join('');
  const title = `${c.text} (line ${c.line})\n${c.satisfied}/${c.repeats} satisfied, ${pct(ci.low)}–${pct(ci.high)} interval\npaths: ${Object.entries(
    c.paths,
  )
    .filter(([, n]) => n > 0)
    .map(([p, n]) => `${p} ${n}`)
    .join(', ')}${c.reasons.length ? `\n${c.reasons.map((r) => `${r.reason} ×${r.count}`).join('\n')}` : ''}`;
  return (
    `<td class="cell${c.pass ? '' : ' failing'}" style="background:${colour.fill};border-color:${colour.ink}" title="${esc(title)}">` +
    `<div class="path" style="color:${colour.ink}">${c.pass ? '' : '✗ '}${esc(shownPath(c))}${expectsOther(c) ? ` <span class="muted">(expects ${esc(c.path)})</span>` : ''}</div>` +
    `<div>${c.satisfied}/${c.repeats} <span class="ci">${pct(ci.low)}–${pct(ci.high)}</span></div>` +
    `<div class="bar"><span style="width:${pct(c.successRate)}"></span><i style="left:${pct(ci.low)};width:${pct(ci.high - ci.low)}"></i></div>` +
    `<div class="ms">${fmtMs(medianMs(c))}</div>${badges}</td>`
  );
}

function gridTable(run: RunReport, cmp: Comparison | null): string {
  const grid = gridOf(run);
  const head = `<tr><th class="row">from \\ to</th>${grid.cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const rows = grid.rows.map((r) => {
    const tds = grid.cols.map((col) => {
      const list = grid.cells.get(gridKey(r, col));
      if (!list) return '<td class="empty">·</td>';
      return list.map((c) => gridCell(c, cmp)).join('');
    });
    return `<tr><th class="row">${esc(r)}</th>${tds.join('')}</tr>`;
  });
  const legend = ['direct', 'hole-punched', 'relayed', 'failed']
    .map(
      (k) =>
        `<span><i style="background:${PATH_COLOURS[k]!.fill};border-color:${PATH_COLOURS[k]!.ink}"></i>${k}</span>`,
    )
    .join('');
  return `<table class="grid" id="matrix">${head}${rows.join('')}</table><p class="legend">${legend}<span>bar: success ratio, whiskers: ${pct(run.confidence)} Wilson interval; red outline: expectation failed</span></p>`;
}

function headline(run: RunReport, cmp: Comparison | null): { text: string; good: boolean } {
  const parts: string[] = [];
  if (cmp && cmp.regressions.length)
    parts.push(`${cmp.regressions.length} regression(s) against the baseline`);
  if (!run.pass) parts.push(`${run.failed} of ${run.cells.length} expectation(s) failed`);
  if (parts.length === 0)
    return {
      text: `${run.passed}/${run.cells.length} expectations passed${cmp ? ', no regressions' : ''}`,
      good: true,
    };
  return { text: parts.join(', '), good: false };
}

function changesSection(run: RunReport, cmp: Comparison | null): string {
  const out: string[] = [];
  if (cmp) {
    out.push(`<h2>Regressions (${cmp.regressions.length})</h2>`);
    out.push(
      cmp.regressions.length
        ? `<ul class="changes">${cmp.regressions.map(({ cell, change }) => `<li><b>${esc(cell.text)}</b> — ${esc(change.detail)}</li>`).join('')}</ul>`
        : '<p class="muted">none</p>',
    );
    const others = cmp.cells.flatMap((cell) =>
      cell.changes.filter((c) => !c.regression).map((change) => ({ cell, change })),
    );
    if (others.length)
      out.push(
        `<h2>Other changes (${others.length})</h2><ul class="changes">${others.map(({ cell, change }) => `<li>${esc(cell.text)} — ${esc(change.detail)}</li>`).join('')}</ul>`,
      );
  }
  const failing = run.cells.filter((c) => !c.pass);
  if (failing.length) {
    out.push(
      `<h2>Failing expectations (${failing.length})</h2><ul class="changes">${failing
        .map(
          (c) =>
            `<li><b>${esc(c.text)}</b> (line ${c.line}): ${c.satisfied}/${c.repeats} — ${esc(c.reasons.map((r) => `${r.reason} ×${r.count}`).join('; '))}</li>`,
        )
        .join('')}</ul>`,
    );
  }
  return out.join('');
}

function trendSection(runs: readonly RunReport[]): string {
  const labels = runs.map(runName);
  const current = runs.at(-1)!;
  const byRun = runs.map((r) => new Map(r.cells.map((c) => [c.text, c])));
  const rows = current.cells.map((c) => {
    const history = byRun.map((m) => m.get(c.text) ?? null);
    return `<tr><td class="name">${esc(c.text)}</td><td>${pathStripSvg(history, labels)}</td><td>${sparklineSvg(
      history.map((h) => (h ? medianMs(h) : null)),
      labels,
    )}</td></tr>`;
  });
  return (
    `<h2>Trend across ${runs.length} run(s)</h2><p class="muted">oldest left: ${labels.map(esc).join(' → ')}</p>${runsSvg(runs, labels)}` +
    `<table class="trend"><tr><th>cell</th><th>path per run</th><th>median time to connect</th></tr>${rows.join('')}</table>`
  );
}

/**
 * The HTML report of `runs` (oldest first; the last is the run reported on) with the comparison of that run
 * against its baseline, if any.
 */
export function toHtml(runs: readonly RunReport[], cmp: Comparison | null = null): string {
  const run = runs.at(-1);
  if (!run) throw new RangeError('toHtml: no run');
  const head = headline(run, cmp);
  const baseline = new Map((cmp?.baseline.cells ?? []).map((c) => [c.text, c]));
  const about = runLine(run);
  const base = cmp
    ? `<p class="muted">compared with ${esc(runName(cmp.baseline))}${cmp.baseline.file ? ` (${esc(cmp.baseline.file)})` : ''}</p>`
    : '';
  const notes = cmp
    ? `<h2>How changes are judged</h2><ul>${cmp.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`
    : '';
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">',
    `<title>quicmesh-lab · ${esc(run.topology)}</title><style>${STYLE}</style></head><body>`,
    `<h1>quicmesh-lab · ${esc(run.topology)}</h1>`,
    `<p class="status ${head.good ? 'good' : 'bad'}" id="status">${esc(head.text)}</p>`,
    about ? `<p class="muted">${esc(about)}</p>` : '',
    base,
    '<h2>Matrix</h2>',
    gridTable(run, cmp),
    changesSection(run, cmp),
    `<h2>Time to connect</h2><p class="muted">each dot one repeat (colour: its path; ✗: did not connect), tick: median; grey above: the baseline's repeats</p>`,
    run.cells.some((c) => c.samples !== null)
      ? distributionSvg(run.cells, baseline)
      : '<p class="muted">this report has no per-repeat times (format 1)</p>',
    trendSection(runs),
    notes,
    '</body></html>',
    '',
  ].join('\n');
}
