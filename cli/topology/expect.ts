/**
 * The expectation line grammar:  FROM -> TO [: [PATH] [within DURATION]]
 *   PATH is any (default), direct (not relayed: dialled directly or hole-punched), hole-punched or relayed.
 *   FROM and TO are node names or group names (a group means every replica).
 * Examples: "alice -> bob", "alice-1 -> bob: direct within 2000ms", "alice -> bob: relayed".
 */
import type { PathKind } from './model.js';
import { DURATION_HINT, parseDurationMs } from './units.js';

export const PATH_KINDS: readonly PathKind[] = ['any', 'direct', 'hole-punched', 'relayed'];

export interface ExpectLine {
  from: string;
  to: string;
  path: PathKind;
  withinMs: number | null;
}

export type ExpectParse = { ok: true; line: ExpectLine } | { ok: false; message: string };

const SHAPE = /^\s*([^\s:>-][^\s:>]*?)\s*->\s*([^\s:>]+)\s*(?::(.*))?$/;

export function parseExpectLine(text: string): ExpectParse {
  const match = SHAPE.exec(text);
  if (!match) return { ok: false, message: `expected "from -> to[: path][ within duration]", got "${text}"` };
  const from = match[1] as string;
  const to = match[2] as string;
  const words = (match[3] ?? '')
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  let path: PathKind = 'any';
  let withinMs: number | null = null;
  let i = 0;
  const first = words[0];
  if (first !== undefined && first !== 'within') {
    if (!(PATH_KINDS as readonly string[]).includes(first)) {
      return { ok: false, message: `unknown path kind "${first}": expected one of ${PATH_KINDS.join(', ')}` };
    }
    path = first as PathKind;
    i = 1;
  }
  if (words[i] === 'within') {
    const duration = words[i + 1];
    const ms = duration === undefined ? null : parseDurationMs(duration);
    if (ms === null) return { ok: false, message: `after "within": ${DURATION_HINT}` };
    withinMs = ms;
    i += 2;
  }
  if (i < words.length)
    return { ok: false, message: `unexpected "${words.slice(i).join(' ')}" in "${text}"` };
  return { ok: true, line: { from, to, path, withinMs } };
}

/** The canonical text of one expectation, e.g. "alice-1 -> bob: direct within 2000ms". */
export function expectationText(line: ExpectLine): string {
  const within = line.withinMs === null ? '' : ` within ${line.withinMs}ms`;
  return `${line.from} -> ${line.to}: ${line.path}${within}`;
}

/** A YAML expect entry as one line: a string, or the one-key mapping YAML makes of "a -> b: direct". */
export function expectEntryText(entry: string | Record<string, string | null>): string {
  if (typeof entry === 'string') return entry;
  const [key, value] = Object.entries(entry)[0] ?? ['', null];
  return value === null || value === '' ? key : `${key}: ${value}`;
}
