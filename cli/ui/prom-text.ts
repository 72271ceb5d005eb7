/**
 * A small parser for the Prometheus text exposition format (what a node's GET /metrics serves),
 * enough for the live UI: samples with labels and values, HELP/TYPE kept per family. Timestamps
 * are read and dropped. A malformed line is a DecodeError naming its line number, so the poller can
 * report "metrics unreadable" for that node while its /status keeps updating.
 */
import { DecodeError } from '../../src/errors.js';

export interface PromSample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

export interface PromFamily {
  type: string;
  help: string;
}

export interface PromScrape {
  samples: PromSample[];
  /** HELP/TYPE per family name (histogram families are keyed by their base name). */
  families: Map<string, PromFamily>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

export function parsePromText(text: string): PromScrape {
  const samples: PromSample[] = [];
  const families = new Map<string, PromFamily>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const where = `line ${i + 1}`;
    if (line.startsWith('#')) {
      const m = /^#\s*(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(.*)$/.exec(line);
      if (!m) continue; // any other comment
      const family = families.get(m[2]!) ?? { type: 'untyped', help: '' };
      if (m[1] === 'TYPE') family.type = m[3]!.trim() || 'untyped';
      else family.help = unescapeHelp(m[3]!);
      families.set(m[2]!, family);
      continue;
    }
    samples.push(parseSampleLine(line, where));
  }
  return { samples, families };
}

function parseSampleLine(line: string, where: string): PromSample {
  const nameMatch = NAME.exec(line);
  if (!nameMatch) throw new DecodeError(where, `expected a metric name, got "${line.slice(0, 40)}"`);
  const name = nameMatch[0];
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos = parseLabels(line, pos + 1, labels, where);
  }
  const rest = line.slice(pos).trim().split(/\s+/);
  if (rest.length < 1 || rest[0] === '' || rest.length > 2) {
    throw new DecodeError(where, `expected "value [timestamp]" after ${name}`);
  }
  const value = parseValue(rest[0]!);
  if (value === undefined) throw new DecodeError(where, `bad value "${rest[0]}" for ${name}`);
  return { name, labels, value };
}

/** Parse `a="x",b="y"}` from `pos` (just after `{`); returns the index after `}`. */
function parseLabels(line: string, pos: number, out: Record<string, string>, where: string): number {
  for (;;) {
    while (line[pos] === ' ') pos++;
    if (line[pos] === '}') return pos + 1;
    const m = LABEL_NAME.exec(line.slice(pos));
    if (!m) throw new DecodeError(where, `expected a label name at column ${pos + 1}`);
    const key = m[0];
    pos += key.length;
    while (line[pos] === ' ') pos++;
    if (line[pos] !== '=' || line[pos + 1] !== '"') {
      throw new DecodeError(where, `expected ="value" after label ${key}`);
    }
    pos += 2;
    let value = '';
    for (;;) {
      const c = line[pos];
      if (c === undefined) throw new DecodeError(where, `unterminated value of label ${key}`);
      if (c === '"') break;
      if (c === '\\') {
        const n = line[pos + 1];
        value += n === 'n' ? '\n' : (n ?? '');
        pos += 2;
        continue;
      }
      value += c;
      pos++;
    }
    out[key] = value;
    pos++;
    while (line[pos] === ' ') pos++;
    if (line[pos] === ',') pos++;
    else if (line[pos] !== '}') throw new DecodeError(where, `expected , or } after label ${key}`);
  }
}

function parseValue(s: string): number | undefined {
  switch (s) {
    case 'NaN':
      return Number.NaN;
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
  }
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

function unescapeHelp(s: string): string {
  return s.replace(/\\(n|\\)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** Samples named `name` whose labels include every pair in `match`. */
export function select(samples: readonly PromSample[], name: string, match: Record<string, string> = {}): PromSample[] {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/** Sum of the matching samples, or null when there are none. */
export function sumOf(samples: readonly PromSample[], name: string, match: Record<string, string> = {}): number | null {
  const hits = select(samples, name, match);
  if (hits.length === 0) return null;
  return hits.reduce((a, s) => a + s.value, 0);
}

/** Sums of the matching samples grouped by the value of `label` (missing label → ""). */
export function sumBy(samples: readonly PromSample[], name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== name) continue;
    const key = s.labels[label] ?? '';
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}
