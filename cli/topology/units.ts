/**
 * The unit-bearing strings of a topology file: durations ("25ms", "2s", "1.5m"), percentages ("1%",
 * "0.5%") and rates in tc's bit units ("10mbit", "512kbit"). The schema checks their shape with the
 * patterns below; the parsers turn them into numbers during resolution.
 */

/** "0", or a number with unit ms, s or m. */
export const DURATION_PATTERN = /^(0|\d+(\.\d+)?(ms|s|m))$/;
/** A percentage 0..100 with a "%" sign. */
export const PERCENT_PATTERN = /^\d+(\.\d+)?%$/;
/** "0" / "unlimited", or a number with unit bit, kbit, mbit or gbit (tc's names: bits per second). */
export const RATE_PATTERN = /^(0|unlimited|\d+(\.\d+)?(bit|kbit|mbit|gbit))$/;

export const DURATION_HINT = 'expected a duration like "25ms", "2s" or "1m"';
export const PERCENT_HINT = 'expected a percentage like "1%" or "0.5%"';
export const RATE_HINT = 'expected a rate like "10mbit", "512kbit" or "unlimited"';

const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };
const RATE_UNIT_KBIT: Record<string, number> = { bit: 0.001, kbit: 1, mbit: 1000, gbit: 1_000_000 };

function split(text: string, pattern: RegExp): [number, string] | null {
  if (!pattern.test(text)) return null;
  const match = /^(\d+(?:\.\d+)?)([a-z%]*)$/.exec(text);
  return match ? [Number(match[1]), match[2] ?? ''] : null;
}

/** Milliseconds, or null when the text is not a duration. */
export function parseDurationMs(text: string): number | null {
  if (text === '0') return 0;
  const parts = split(text, DURATION_PATTERN);
  if (!parts) return null;
  const [value, unit] = parts;
  return value * (DURATION_UNIT_MS[unit] ?? Number.NaN);
}

/** Percent as a number (1% → 1), or null when the text is not a percentage. */
export function parsePercent(text: string): number | null {
  const parts = split(text, PERCENT_PATTERN);
  return parts ? parts[0] : null;
}

/** kbit/s (0 = unlimited), or null when the text is not a rate. */
export function parseRateKbit(text: string): number | null {
  if (text === '0' || text === 'unlimited') return 0;
  const parts = split(text, RATE_PATTERN);
  if (!parts) return null;
  const [value, unit] = parts;
  return value * (RATE_UNIT_KBIT[unit] ?? Number.NaN);
}
