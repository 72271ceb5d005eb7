/**
 * `quicmesh-lab test FILE --stacks quicmesh,STACK.yaml,…` (node kinds, issue 14): the same topology run once
 * per stack — quicmesh as written, then each stack file run in every node — with the same flags (repeats,
 * cold NAT state, timeouts), one after the other, and one table of every cell side by side: each stack's
 * path, connected ratio and time-to-connect p50, and by how much the first stack is ahead of the best other.
 * Each stack's JSON (format 2) and JUnit reports go to FILE with the stack's name before the extension.
 * The exit code is the first stack's: it is the one under test, the others are references.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { AbortError, ConfigError, QuicmeshError } from '../../src/errors.js';
import type { LabIO } from './io.js';
import { QUICMESH_STACK, loadStack } from '../topology/stack.js';
import type { JsonExpectationReport, JsonReport } from './verdicts/json.js';

export interface StackRun {
  /** The stack's name (quicmesh, or a stack file's `name`). */
  name: string;
  /** Its stack file; undefined for quicmesh. */
  file: string | undefined;
  report: JsonReport | null;
  /** Why the run gave no report, or failed expectations / regressions (exit code of its own). */
  error: Error | null;
}

/** The stacks of a --stacks value: names and files, checked before anything is built. */
export async function parseStacks(value: string): Promise<Array<{ name: string; file: string | undefined }>> {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length < 2)
    throw new ConfigError(
      `--stacks: name at least two stacks to compare (quicmesh or stack files), got "${value}"`,
    );
  const out: Array<{ name: string; file: string | undefined }> = [];
  for (const item of items) {
    const entry =
      item === QUICMESH_STACK
        ? { name: QUICMESH_STACK, file: undefined }
        : { name: (await loadStack(item)).stack.name, file: item };
    if (out.some((o) => o.name === entry.name))
      throw new ConfigError(`--stacks: stack "${entry.name}" is named twice`);
    out.push(entry);
  }
  return out;
}

/** FILE with the stack name before its extension: out.json → out.udp.json. */
export function perStackFile(file: string, stack: string): string {
  const ext = extname(file);
  return `${file.slice(0, file.length - ext.length)}.${stack}${ext}`;
}

/** The most frequent path among the connected repeats ("failed" when none connected). */
function mainPath(cell: JsonExpectationReport): string {
  let best = 'failed';
  let count = 0;
  for (const [path, n] of Object.entries(cell.paths)) {
    if (path === 'failed') continue;
    if (n > count) {
      best = path;
      count = n;
    }
  }
  return best;
}

const connected = (cell: JsonExpectationReport): number => cell.repeats - cell.paths.failed;
const ms = (v: number | null): string => (v === null ? '-' : `${v < 10 ? v.toFixed(1) : Math.round(v)}ms`);

/** One stack's view of a cell: "hole-punched 10/10 41ms". */
export function stackCell(cell: JsonExpectationReport | undefined): string {
  if (!cell) return '·';
  return `${mainPath(cell)} ${connected(cell)}/${cell.repeats} ${ms(cell.timeToConnectMs.p50)}`;
}

/**
 * How far the first stack is ahead of the best other in a cell, by p50 time to connect: positive = ahead.
 * The first stack must have connected every repeat; the others count once they connected at all (a
 * stack that connected only some repeats is compared by the p50 of those, and `partial` says so: its
 * failures are not time it saved). null when there is nothing to compare.
 */
export function lead(cells: Array<JsonExpectationReport | undefined>): { ms: number; versus: number; partial: boolean } | null {
  const [first, ...others] = cells;
  if (!first || first.timeToConnectMs.p50 === null || connected(first) < first.repeats) return null;
  let best: { p50: number; index: number; partial: boolean } | null = null;
  others.forEach((c, i) => {
    if (!c || c.timeToConnectMs.p50 === null || connected(c) === 0) return;
    if (!best || c.timeToConnectMs.p50 < best.p50) best = { p50: c.timeToConnectMs.p50, index: i + 1, partial: connected(c) < c.repeats };
  });
  if (!best) return null;
  const b = best as { p50: number; index: number; partial: boolean };
  return { ms: Math.round((b.p50 - first.timeToConnectMs.p50) * 10) / 10, versus: b.index, partial: b.partial };
}

/** The side-by-side table (plain text) and a summary of where the first stack is behind. */
export function formatComparison(runs: readonly StackRun[]): string {
  const keys: string[] = [];
  const byStack = runs.map(
    (r) => new Map((r.report?.expectations ?? []).map((e) => [`${e.from} -> ${e.to}`, e])),
  );
  for (const r of runs)
    for (const e of r.report?.expectations ?? [])
      if (!keys.includes(`${e.from} -> ${e.to}`)) keys.push(`${e.from} -> ${e.to}`);
  const expected = new Map<string, string>();
  for (const r of runs)
    for (const e of r.report?.expectations ?? [])
      if (!expected.has(`${e.from} -> ${e.to}`)) expected.set(`${e.from} -> ${e.to}`, e.path);
  const head = ['cell', 'expected', ...runs.map((r) => r.name), `${runs[0]!.name} ahead by (p50)`];
  const behind: string[] = [];
  const rows = keys.map((k) => {
    const cells = byStack.map((m) => m.get(k));
    const l = lead(cells);
    const versus = (x: NonNullable<typeof l>): string => {
      const c = cells[x.versus]!;
      return `${runs[x.versus]!.name}${x.partial ? ` (${connected(c)}/${c.repeats} connected)` : ''}`;
    };
    if (l && l.ms < 0) behind.push(`${k}: ${-l.ms} ms behind ${versus(l)}`);
    const aheadText = l ? `${l.ms >= 0 ? '+' : ''}${l.ms} ms vs ${versus(l)}` : '-';
    return [k, expected.get(k) ?? '?', ...cells.map(stackCell), aheadText];
  });
  const table = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const text = table
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
  const notes = runs
    .filter((r) => !r.report)
    .map((r) => `${r.name}: no report (${r.error?.message.split('\n')[0] ?? 'unknown error'})`);
  const leads = rows.map((r) => r[r.length - 1]!).filter((t) => t !== '-');
  const summary = [
    `cells: path connected/repeats p50 time-to-connect per stack; "ahead by" compares ${runs[0]!.name}, where it connected every repeat, with the fastest other stack that connected (by the p50 of the repeats it connected)`,
    `${runs[0]!.name} is ahead in ${leads.length - behind.length} of ${leads.length} comparable cell(s)${behind.length ? `; behind in: ${behind.join('; ')}` : ''}`,
    ...notes,
  ];
  return `${text}\n\n${summary.join('\n')}\n`;
}

/**
 * Run the test once per stack through `runOne` (the test verb's own handler, given the stack and report
 * files), then print the comparison. Returns the first stack's error (null when it passed).
 */
export async function compareStacks(
  stacks: ReadonlyArray<{ name: string; file: string | undefined }>,
  opts: { json?: string; junit?: string; io: LabIO },
  runOne: (stack: string | undefined, files: { json: string; junit?: string }) => Promise<void>,
): Promise<Error | null> {
  const scratch = mkdtempSync(join(tmpdir(), 'qm-stacks-'));
  const runs: StackRun[] = [];
  try {
    for (const s of stacks) {
      opts.io.stderr(`=== stack ${s.name}${s.file ? ` (${s.file})` : ''} ===\n`);
      const json = opts.json ? perStackFile(opts.json, s.name) : join(scratch, `${s.name}.json`);
      const junit = opts.junit ? perStackFile(opts.junit, s.name) : undefined;
      let error: Error | null = null;
      try {
        await runOne(s.file, { json, ...(junit ? { junit } : {}) });
      } catch (err) {
        if (err instanceof AbortError) throw err; // Ctrl-C: no more stacks
        error = err instanceof Error ? err : new QuicmeshError(String(err));
      }
      let report: JsonReport | null = null;
      try {
        report = JSON.parse(readFileSync(json, 'utf8')) as JsonReport;
      } catch {
        report = null; // the run broke before its report: the error says why
      }
      if (!report && error && !(error instanceof QuicmeshError)) throw error; // a bug, not a lab outcome
      if (!report && error instanceof ConfigError && runs.length === 0) throw error; // bad input: stop at once
      runs.push({ name: s.name, file: s.file, report, error });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  opts.io.stdout(`\n${formatComparison(runs)}`);
  return runs[0]!.error;
}
