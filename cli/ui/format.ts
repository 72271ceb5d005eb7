/**
 * Text helpers for the UI: fixed-width cells (so columns never shift between refreshes) and
 * compact numbers, durations and times.
 */

/** `s` cut or padded to exactly `width` columns (cut text ends with "…"). */
export function cell(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const chars = [...s];
  if (chars.length > width) return width === 1 ? '…' : `${chars.slice(0, width - 1).join('')}…`;
  return align === 'left' ? s.padEnd(width) : s.padStart(width);
}

export const DASH = '–';

/** Milliseconds as "0.4ms", "12ms", "1.2s". */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  if (ms < 10) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(1)}s`;
}

/** A span as "12s", "4m05s", "3h12m", "2d04h". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return DASH;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** 0..1 as a percentage. */
export function formatRatio(r: number | null | undefined): string {
  if (r === null || r === undefined || !Number.isFinite(r)) return DASH;
  return `${Math.round(r * 100)}%`;
}

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? DASH : String(n);
}

/** A rate per second, compact ("0", "0.3", "12", "1.2k"). */
export function formatRate(perSec: number): string {
  if (perSec <= 0) return '0';
  if (perSec < 10) return perSec.toFixed(1).replace(/\.0$/, '');
  if (perSec < 1000) return String(Math.round(perSec));
  return `${(perSec / 1000).toFixed(1)}k`;
}

/** Clock time (epoch ms) as local HH:MM:SS. */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((x) => String(x).padStart(2, '0')).join(':');
}
