/**
 * Readers shared by the catalogue and Grafana tests: the metric tables of docs/metrics.md, and the
 * metrics the code registers through `.counter(` / `.gauge(` / `.histogram(` with literal names.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');

export interface CatalogueRow {
  name: string;
  type: string;
  unit: string;
  /** Label names; empty for none ("—"). */
  labels: string[];
  status: string;
  meaning: string;
  /** 1-based line in docs/metrics.md. */
  line: number;
}

const unquote = (s: string): string => s.trim().replace(/^`|`$/g, '').trim();

/** Every row of every table whose header starts with "Metric". */
export function readCatalogue(text = readFileSync(join(REPO, 'docs', 'metrics.md'), 'utf8')): CatalogueRow[] {
  const rows: CatalogueRow[] = [];
  const lines = text.split('\n');
  let inTable = false;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (!line.startsWith('|')) {
      inTable = false;
      return;
    }
    const cells = line.replace(/^\||\|$/g, '').split('|').map((c) => c.trim());
    if (cells[0] === 'Metric') {
      inTable = true;
      return;
    }
    if (!inTable || /^-+$/.test(cells[0] ?? '')) return;
    const [name, type, unit, labels, status, meaning] = cells;
    rows.push({
      name: unquote(name ?? ''),
      type: (type ?? '').trim(),
      unit: (unit ?? '').trim(),
      labels: labels === undefined || labels.trim() === '—' ? [] : labels.split(',').map(unquote).filter(Boolean),
      status: (status ?? '').trim(),
      meaning: (meaning ?? '').trim(),
      line: i + 1,
    });
  });
  return rows;
}

export interface Registration {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  /** Label names when given as an array literal; undefined when the code passes something else. */
  labels: string[] | undefined;
  /** "src/x/y.ts:line". */
  where: string;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const STRING = String.raw`(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\x60(?:[^\x60\\]|\\.)*\x60)`;
const REGISTRATION = new RegExp(
  String.raw`\.(counter|gauge|histogram)\(\s*(['"\x60])([^'"\x60]+)\2\s*(?:,\s*${STRING}(?:\s*\+\s*${STRING})*\s*(?:,\s*\[([^\]]*)\])?)?`,
  'g',
);

/** Metrics registered with a literal name anywhere under `root` (default src/). */
export function scanRegistrations(root = join(REPO, 'src')): Registration[] {
  const out: Registration[] = [];
  for (const file of walk(root)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(REGISTRATION)) {
      const line = text.slice(0, m.index).split('\n').length;
      const labels = m[4] === undefined ? undefined : [...m[4].matchAll(/['"\x60]([^'"\x60]+)['"\x60]/g)].map((x) => x[1]!);
      out.push({ name: m[3]!, type: m[1] as Registration['type'], labels, where: `${relative(REPO, file)}:${line}` });
    }
  }
  return out;
}
