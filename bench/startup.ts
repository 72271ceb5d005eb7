/**
 * How fast the command lines start, and how big the package is; prints a table.
 *
 *   npm run bench -- --only=startup        (or: npx tsx bench/startup.ts [--runs N] [--quick])
 *
 * Each command runs --runs times (20 by default, after 2 warm-up runs), round-robin with the others,
 * so a busy moment on a shared machine hits every row alike; `node -e 0` is measured in the same
 * rounds as the baseline. Wall time of spawn-to-exit, computed here (hyperfine-like: mean ± sd,
 * median, min). The CLIs run from dist/ as the bin launchers do (built first when stale); the
 * "from sources (tsx)" rows are the same commands with QUICMESH_FROM_SOURCE=1, i.e. what every
 * command cost before the package was compiled. The tarball row is `npm pack --dry-run`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { distIsFresh } from '../bin/launch.js';
import { readdirSync } from 'node:fs';

const ROOT = resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : quick ? 5 : 20;
const WARMUP = 2;

interface Case {
  name: string;
  argv: string[];
  env?: Record<string, string>;
  /** Goal for the median, seconds. */
  goalS?: number;
}

const LAB = join(ROOT, 'bin', 'quicmesh-lab.js');
const NODE = join(ROOT, 'bin', 'quicmesh.js');
const TOPOLOGY = join(ROOT, 'topologies', 'nat-matrix.yaml');
const SOURCE = { QUICMESH_FROM_SOURCE: '1' };

const cases: Case[] = [
  { name: 'node -e 0 (baseline)', argv: ['-e', '0'] },
  { name: 'quicmesh-lab --help', argv: [LAB, '--help'], goalS: 0.25 },
  { name: 'quicmesh --help', argv: [NODE, '--help'], goalS: 0.25 },
  { name: 'quicmesh-lab validate nat-matrix.yaml', argv: [LAB, 'validate', TOPOLOGY], goalS: 0.4 },
  { name: 'quicmesh-lab --help, from sources (tsx)', argv: [LAB, '--help'], env: SOURCE },
  { name: 'quicmesh --help, from sources (tsx)', argv: [NODE, '--help'], env: SOURCE },
  { name: 'validate nat-matrix.yaml, from sources (tsx)', argv: [LAB, 'validate', TOPOLOGY], env: SOURCE },
];

function runOnce(c: Case): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, c.argv, {
    cwd: ROOT,
    env: { ...process.env, QUICMESH_FROM_SOURCE: '', ...c.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ms = performance.now() - t0;
  if (r.status !== 0)
    throw new Error(`${c.name}: exited with ${r.status ?? r.signal}: ${r.stderr.toString()}`);
  return ms;
}

if (!distIsFresh()) {
  process.stdout.write('dist/ is missing or older than the sources: npm run build\n');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
}

const samples = new Map<Case, number[]>(cases.map((c) => [c, []]));
for (let round = 0; round < WARMUP + RUNS; round++) {
  for (const c of cases) {
    const ms = runOnce(c);
    if (round >= WARMUP) samples.get(c)!.push(ms);
  }
}

const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { mean, sd, median, min: sorted[0]! };
};

const baseline = stats(samples.get(cases[0]!)!);
const s = (ms: number) => (ms / 1000).toFixed(3);
const rows = [['command', 'mean ± sd (s)', 'median', 'min', 'median − node', 'goal']];
for (const c of cases) {
  const st = stats(samples.get(c)!);
  const goal =
    c.goalS === undefined ? '' : `≤ ${c.goalS} s ${st.median / 1000 <= c.goalS ? 'met' : 'MISSED'}`;
  const over = c === cases[0] ? '' : `+${s(st.median - baseline.median)}`;
  rows.push([c.name, `${s(st.mean)} ± ${s(st.sd)}`, s(st.median), s(st.min), over, goal]);
}

// The tarball as `npm pack` would write it (scripts skipped: dist/ was checked above).
const pack = JSON.parse(
  execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' }),
) as { size: number; unpackedSize: number; entryCount: number }[];
const kb = (b: number) => `${(b / 1000).toFixed(1)} kB`; // as npm prints sizes
const tar = pack[0]!;
rows.push([
  `npm pack tarball (${tar.entryCount} files, ${kb(tar.unpackedSize)} unpacked)`,
  kb(tar.size),
  '',
  '',
  '',
  `≤ 400 kB ${tar.size <= 400_000 ? 'met' : 'MISSED'}`,
]);

// What the launchers' freshness check costs each start in a clone (stat of every source file and folder).
const CHECKS = 200;
const c0 = performance.now();
for (let i = 0; i < CHECKS; i++) distIsFresh();
const checkMs = (performance.now() - c0) / CHECKS;
const sourceFiles = ['src', 'cli'].reduce(
  (n, dir) => n + readdirSync(join(ROOT, dir), { recursive: true }).length,
  0,
);

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
process.stdout.write(`start-up: ${RUNS} runs each after ${WARMUP} warm-up, round-robin\n`);
for (const [i, r] of rows.entries()) {
  process.stdout.write(
    `${r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join('  ')}\n`,
  );
  if (i === 0) process.stdout.write(`${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
}
process.stdout.write(
  `bin launcher's freshness check in a clone: ${checkMs.toFixed(2)} ms per start (${sourceFiles} files and folders under src/ and cli/)\n`,
);
