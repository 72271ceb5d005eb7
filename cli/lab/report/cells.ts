/**
 * What the markdown and HTML reports share: the from × to layout of a run's cells, a cell's headline
 * (the path most repeats took, satisfied/repeats, median time), and the order of the change markers.
 */
import type { CellChange, CellComparison, Comparison } from './compare.js';
import { usualPath } from './compare.js';
import type { ReportCell, RunReport } from './load.js';
import { median } from '../verdicts/stats.js';

export interface Grid {
  rows: string[];
  cols: string[];
  /** Cells by `${from}\n${to}`; a pair with several expectations has several. */
  cells: Map<string, ReportCell[]>;
}

export const gridKey = (from: string, to: string): string => `${from}\n${to}`;

/** Rows are sources, columns destinations, in order of first appearance. */
export function gridOf(run: RunReport): Grid {
  const rows: string[] = [];
  const cols: string[] = [];
  const cells = new Map<string, ReportCell[]>();
  for (const c of run.cells) {
    if (!rows.includes(c.from)) rows.push(c.from);
    if (!cols.includes(c.to)) cols.push(c.to);
    const key = gridKey(c.from, c.to);
    cells.set(key, [...(cells.get(key) ?? []), c]);
  }
  return { rows, cols, cells };
}

/** The path the cell shows: what most connected repeats took, else "failed" (none connected). */
export function shownPath(c: ReportCell): 'direct' | 'hole-punched' | 'relayed' | 'failed' | 'unknown' {
  const usual = usualPath(c.paths);
  if (usual !== null) return usual;
  return c.paths.unknown > 0 ? 'unknown' : 'failed';
}

/** Median time to connect over the connected repeats (p50 of a format-1 report), or null. */
export function medianMs(c: ReportCell): number | null {
  if (c.samples === null) return c.p50Ms;
  const times = c.samples.flatMap((s) => (s.path !== 'failed' && s.ms !== null ? [s.ms] : []));
  return times.length === 0 ? null : median(times);
}

export const fmtMs = (v: number | null): string => (v === null ? '–' : `${Math.round(v)} ms`);
export const pct = (x: number): string => `${Math.round(x * 100)}%`;

/** The comparison of each cell of the current run, by expectation text. */
export function changesByText(cmp: Comparison | null): Map<string, CellComparison> {
  return new Map((cmp?.cells ?? []).map((c) => [c.text, c]));
}

/** Short label and symbol of a change, for a cell of a grid. */
export function changeBadge(change: CellChange): {
  symbol: string;
  text: string;
  tone: 'bad' | 'good' | 'noise';
} {
  const tone = change.regression ? 'bad' : change.significant ? 'good' : 'noise';
  switch (change.kind) {
    case 'slower':
      return { symbol: '▲', text: `slower ${change.before} → ${change.after}`, tone };
    case 'faster':
      return { symbol: '▼', text: `faster ${change.before} → ${change.after}`, tone };
    case 'path-downgrade':
      return { symbol: '⇣', text: `path ${change.before} → ${change.after}`, tone };
    case 'path-upgrade':
      return { symbol: '⇡', text: `path ${change.before} → ${change.after}`, tone };
    case 'ratio-drop':
      return { symbol: '↘', text: `ratio ${change.before} → ${change.after}`, tone };
    case 'ratio-rise':
      return { symbol: '↗', text: `ratio ${change.before} → ${change.after}`, tone };
    case 'fails-now':
      return {
        symbol: '✗',
        text: `fails now ${change.before} → ${change.after}${change.regression ? '' : ' (within noise)'}`,
        tone,
      };
    case 'passes-now':
      return {
        symbol: '✓',
        text: `passes now ${change.before} → ${change.after}${change.significant ? '' : ' (within noise)'}`,
        tone,
      };
  }
}

/** One line describing how the run was made. */
export function runLine(run: RunReport): string {
  const parts: string[] = [];
  const rp = run.run.repeat;
  if (rp?.mode === 'fixed') parts.push(`${rp.count} repeat(s) per cell`);
  else if (rp?.mode === 'auto')
    parts.push(
      `repeat auto (${rp.min}–${rp.max} per cell, until the ${pct(run.confidence)} interval is ≤ ${rp.ciWidth} wide)`,
    );
  else {
    const counts = [...new Set(run.cells.map((c) => c.repeats))].sort((a, b) => a - b);
    if (counts.length)
      parts.push(`${counts.length === 1 ? counts[0] : `${counts[0]}–${counts.at(-1)}`} repeat(s) per cell`);
  }
  if (run.run.natState) parts.push(`NAT state ${run.run.natState}`);
  if (run.run.backend) parts.push(`backend ${run.run.backend}`);
  if (run.run.label) parts.push(`label ${run.run.label}`);
  if (run.run.startedAt) parts.push(`started ${run.run.startedAt}`);
  return parts.join(' · ');
}
