/**
 * The charts of the HTML report as inline SVG strings: the time-to-connect distribution of every cell on
 * one log scale (this run's repeats beside the baseline's), and per-cell trend sparklines across runs.
 * Pure string building; every number is rounded so the file stays small.
 */
import type { ReportCell, RunReport } from './load.js';
import { medianMs, shownPath } from './cells.js';

export const PATH_COLOURS: Record<string, { fill: string; ink: string }> = {
  direct: { fill: '#d6f5dd', ink: '#1b7f3b' },
  'hole-punched': { fill: '#d7e8fb', ink: '#1f5fa8' },
  relayed: { fill: '#fde9c8', ink: '#a35f00' },
  failed: { fill: '#f9d0d0', ink: '#b3261e' },
  unknown: { fill: '#e6e6e6', ink: '#555555' },
};

export function esc(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const r1 = (v: number): number => Math.round(v * 10) / 10;

/** A log scale from ms to x, covering every time in `cells` (10 ms … next power of ten up). */
function logScale(times: number[], x0: number, x1: number): { x: (ms: number) => number; ticks: number[] } {
  const hi = Math.max(100, ...times);
  const lo = Math.min(10, ...times.filter((t) => t > 0));
  const a = Math.floor(Math.log10(Math.max(1, lo)));
  const b = Math.ceil(Math.log10(hi));
  const x = (ms: number): number => x0 + ((Math.log10(Math.max(ms, 10 ** a)) - a) / (b - a)) * (x1 - x0);
  const ticks: number[] = [];
  for (let e = a; e <= b; e++) for (const m of [1, 2, 5]) if (m * 10 ** e <= 10 ** b) ticks.push(m * 10 ** e);
  return { x, ticks };
}

const msOf = (c: ReportCell | null | undefined): number[] =>
  c?.samples?.flatMap((s) => (s.path !== 'failed' && s.ms !== null ? [s.ms] : [])) ?? [];

/**
 * One chart, one row per cell: this run's repeats as dots coloured by path (failed repeats as red
 * crosses at the right edge), the baseline's as grey dots just above, medians as ticks.
 */
export function distributionSvg(
  cells: readonly ReportCell[],
  baseline: ReadonlyMap<string, ReportCell>,
): string {
  const labelW = 300;
  const plotW = 560;
  const rowH = 22;
  const top = 24;
  const width = labelW + plotW + 60;
  const height = top + rowH * cells.length + 8;
  const all = cells.flatMap((c) => [...msOf(c), ...msOf(baseline.get(c.text))]);
  const { x, ticks } = logScale(all, labelW, labelW + plotW);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="dist" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="time to connect per cell">`,
  ];
  for (const t of ticks) {
    const tx = r1(x(t));
    out.push(
      `<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${height - 6}" class="grid"/>`,
      `<text x="${tx}" y="${top - 10}" class="tick">${t >= 1000 ? `${t / 1000}s` : `${t}`}</text>`,
    );
  }
  cells.forEach((c, i) => {
    const y = top + i * rowH;
    const ink = PATH_COLOURS[shownPath(c)]!.ink;
    out.push(`<text x="${labelW - 8}" y="${y + 14}" class="label">${esc(c.text)}</text>`);
    const base = baseline.get(c.text);
    for (const t of msOf(base)) out.push(`<circle cx="${r1(x(t))}" cy="${y + 6}" r="2.2" class="base"/>`);
    const bm = base ? medianMs(base) : null;
    if (bm !== null)
      out.push(`<line x1="${r1(x(bm))}" y1="${y + 2}" x2="${r1(x(bm))}" y2="${y + 10}" class="bmed"/>`);
    for (const s of c.samples ?? []) {
      if (s.path === 'failed' || s.ms === null) {
        const fx = labelW + plotW + 14;
        out.push(`<text x="${fx}" y="${y + 18}" class="fail">✗</text>`);
        continue;
      }
      const colour = PATH_COLOURS[s.path]!.ink;
      out.push(
        `<circle cx="${r1(x(s.ms))}" cy="${y + 14}" r="3" fill="${colour}" fill-opacity="0.7"><title>${esc(`${s.path} ${s.ms} ms`)}</title></circle>`,
      );
    }
    const m = medianMs(c);
    if (m !== null)
      out.push(
        `<line x1="${r1(x(m))}" y1="${y + 8}" x2="${r1(x(m))}" y2="${y + 20}" stroke="${ink}" stroke-width="2"/>`,
      );
  });
  out.push('</svg>');
  return out.join('');
}

/** A small line of a cell's median time across runs (oldest left), on a scale from 0 ms. */
export function sparklineSvg(values: readonly (number | null)[], labels: readonly string[]): string {
  const w = 160;
  const h = 28;
  const known = values.filter((v): v is number => v !== null);
  if (known.length === 0) return '<span class="muted">–</span>';
  // from zero, so a 2 ms wobble stays flat and a doubling shows as one
  const lo = 0;
  const hi = Math.max(...known);
  const span = hi - lo || 1;
  const step = values.length > 1 ? (w - 8) / (values.length - 1) : 0;
  const pts = values.map((v, i) =>
    v === null ? null : ([r1(4 + i * step), r1(h - 4 - ((v - lo) / span) * (h - 8))] as const),
  );
  const path = pts
    .map((p, i) => (p === null ? '' : `${i === 0 || pts[i - 1] === null ? 'M' : 'L'}${p[0]} ${p[1]}`))
    .join('');
  const dots = pts
    .map((p, i) =>
      p === null
        ? ''
        : `<circle cx="${p[0]}" cy="${p[1]}" r="2.5"><title>${esc(`${labels[i]}: ${Math.round(values[i]!)} ms`)}</title></circle>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" class="spark" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}"><path d="${path}"/>${dots}</svg>`;
}

/** One square per run, coloured by the path the cell showed then, outlined red where it failed. */
export function pathStripSvg(cells: readonly (ReportCell | null)[], labels: readonly string[]): string {
  const size = 14;
  const w = cells.length * (size + 3);
  const squares = cells
    .map((c, i) => {
      const x = i * (size + 3);
      if (c === null)
        return `<rect x="${x}" y="1" width="${size}" height="${size}" class="none"><title>${esc(labels[i]!)}: not in this run</title></rect>`;
      const colour = PATH_COLOURS[shownPath(c)]!;
      const stroke = c.pass ? colour.ink : '#b3261e';
      return `<rect x="${x}" y="1" width="${size}" height="${size}" fill="${colour.fill}" stroke="${stroke}" stroke-width="${c.pass ? 1 : 2.5}"><title>${esc(`${labels[i]}: ${shownPath(c)} ${c.satisfied}/${c.repeats}${c.pass ? '' : ' (failed)'}`)}</title></rect>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" class="strip" viewBox="0 0 ${w} ${size + 2}" width="${w}" height="${size + 2}">${squares}</svg>`;
}

/** Per run: a stacked bar of how many cells showed each path, and whether the run passed. */
export function runsSvg(runs: readonly RunReport[], labels: readonly string[]): string {
  const barW = 34;
  const gap = 14;
  const h = 120;
  const top = 10;
  const w = Math.max(200, runs.length * (barW + gap) + 40);
  const most = Math.max(1, ...runs.map((r) => r.cells.length));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="runs" viewBox="0 0 ${w} ${h + 40}" width="${w}" height="${h + 40}">`,
  ];
  runs.forEach((run, i) => {
    const x = 30 + i * (barW + gap);
    let y = top + h;
    for (const kind of ['direct', 'hole-punched', 'relayed', 'unknown', 'failed']) {
      const n = run.cells.filter((c) => shownPath(c) === kind).length;
      if (n === 0) continue;
      const bh = r1((n / most) * h);
      y -= bh;
      out.push(
        `<rect x="${x}" y="${r1(y)}" width="${barW}" height="${bh}" fill="${PATH_COLOURS[kind]!.fill}" stroke="${PATH_COLOURS[kind]!.ink}"><title>${esc(`${labels[i]}: ${n} cell(s) ${kind}`)}</title></rect>`,
      );
    }
    const mark = run.pass ? '✓' : '✗';
    out.push(
      `<text x="${x + barW / 2}" y="${top + h + 14}" class="${run.pass ? 'ok' : 'bad'}">${mark} ${run.passed}/${run.cells.length}</text>`,
      `<text x="${x + barW / 2}" y="${top + h + 30}" class="tick">${esc(labels[i]!.slice(0, 10))}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('');
}
