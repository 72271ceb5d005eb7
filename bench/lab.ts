/**
 * The lab backends, measured side by side in one run: `npm run bench -- --only=lab` (root).
 *   1. the quick-start topology: `up` until every node answers /status, and `down` (images present);
 *   2. 50 nodes behind 6 NATs: `up`, `down`, memory per node (process RSS on netns, the node container's
 *      and its pod's memory on docker);
 *   3. docker images: `image build` from nothing (no lab image, no build cache) and when up to date;
 *   4. with --parity: `quicmesh-lab test topologies/nat-matrix.yaml --repeat N` on both backends, and the
 *      share of cells whose path is the same on both.
 * netns is the baseline beside docker. Options: --runs N (default 3), --quick (1 run, 20 nodes),
 * --parity [--repeat N], --backends netns,docker, --parts quickstart,many,images (default: all three;
 * `--parts=many` measures the 50 nodes only), --many-runs N (default 1).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../cli/runtime/index.js';
import { bringUpFile } from '../cli/lab/bring-up.js';
import { getRuntime } from '../cli/runtime/registry.js';
import { readState, stateRoot } from '../cli/runtime/state.js';
import { docker, engineAnswers } from '../cli/runtime/docker/engine.js';
import { ensureImages, listLabImages } from '../cli/runtime/docker/images.js';
import { isRoot } from '../cli/runtime/exec.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const quick = process.argv.includes('--quick');
const RUNS = Number(arg('runs') ?? (quick ? 1 : 3));
const MANY = quick ? 20 : 50;
const parity = process.argv.includes('--parity');
const REPEAT = Number(arg('repeat') ?? 5);
const PARTS = new Set((arg('parts') ?? 'quickstart,many,images').split(','));
const MANY_RUNS = Number(arg('many-runs') ?? 1);

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s.at(-1)! };
};
const fmt = (xs: number[]) => {
  if (!xs.length) return '-';
  const { median, min, max } = stats(xs);
  return xs.length === 1 ? `${median.toFixed(2)} s` : `${median.toFixed(2)} s (${min.toFixed(2)}–${max.toFixed(2)})`;
};

function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log([line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n'));
}

/** 2 public nodes (bootstrap, relay) and `n - 2` nodes spread over 6 NATs of different presets. */
function manyNodes(name: string, n: number): string {
  const presets = ['port-restricted-cone', 'full-cone', 'symmetric', 'restricted-cone', 'port-restricted-cone', 'eim-adf'];
  const per = Math.ceil((n - 2) / presets.length);
  const lines = [`name: ${name}`, 'networks:', '  internet: { kind: public, subnet: 203.0.113.0/24 }'];
  presets.forEach((_, i) => lines.push(`  home-${i}: { kind: lan, subnet: 10.${50 + i}.0.0/24 }`));
  lines.push('routers:');
  presets.forEach((p, i) => lines.push(`  r${i}: { nat: ${p}, wan: internet, lan: home-${i} }`));
  lines.push('nodes:', '  boot: { network: internet, role: bootstrap }', '  relay: { network: internet, role: relay }');
  let left = n - 2;
  presets.forEach((_, i) => {
    const count = Math.min(per, left);
    left -= count;
    if (count > 0) lines.push(`  h${i}: { network: home-${i}, count: ${count} }`);
  });
  return `${lines.join('\n')}\n`;
}

interface UpDown {
  up: number[];
  down: number[];
  memMiB: number[];
}

async function memoryPerNode(backend: string, lab: string): Promise<number> {
  const state = readState(lab)!;
  const hosts = state.nodes.filter((n) => n.kind === 'host');
  if (backend === 'netns') {
    const rss = hosts.map((h) => {
      const pid = h.process?.pid;
      const status = pid ? readFileSync(`/proc/${pid}/status`, 'utf8') : '';
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    });
    return rss.reduce((a, b) => a + b, 0) / rss.length;
  }
  const names = state.docker!.containers.filter((c) => c.role === 'node' || c.role === 'pod').map((c) => c.name);
  const mem = await Promise.all(
    names.map(async (n) => {
      const s = (await docker().getContainer(n).stats({ stream: false })) as { memory_stats: { usage?: number; stats?: { inactive_file?: number } } };
      return ((s.memory_stats.usage ?? 0) - (s.memory_stats.stats?.inactive_file ?? 0)) / 2 ** 20;
    }),
  );
  return mem.reduce((a, b) => a + b, 0) / hosts.length;
}

async function measure(backend: string, file: string, lab: string, runs: number): Promise<UpDown> {
  const out: UpDown = { up: [], down: [], memMiB: [] };
  const rt = getRuntime(backend);
  await rt.down(lab).catch(() => {});
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await bringUpFile(file, { backend, readyTimeoutMs: 120_000 });
    out.up.push((performance.now() - t0) / 1000);
    out.memMiB.push(await memoryPerNode(backend, lab));
    const t1 = performance.now();
    await rt.down(lab);
    out.down.push((performance.now() - t1) / 1000);
  }
  return out;
}

async function imageBuild(): Promise<{ fromNothing: number; upToDate: number[] }> {
  // from nothing: no lab image (none in use: the benchmark's labs are down) and no build cache
  for (const img of await listLabImages()) await docker().getImage(img.ref).remove({ force: false }).catch(() => {});
  rmSync(join(stateRoot(), '.images'), { recursive: true, force: true });
  let t0 = performance.now();
  await ensureImages();
  const fromNothing = (performance.now() - t0) / 1000;
  const upToDate: number[] = [];
  for (let i = 0; i < 3; i++) {
    t0 = performance.now();
    await ensureImages();
    upToDate.push((performance.now() - t0) / 1000);
  }
  return { fromNothing, upToDate };
}

interface MatrixReport {
  expectations: Array<{ from: string; to: string; text: string; paths: Record<string, number> }>;
}

function matrix(backend: string, dir: string): MatrixReport {
  const json = join(dir, `matrix-${backend}.json`);
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'bin', 'quicmesh-lab.js'), 'test', 'topologies/nat-matrix.yaml', '--repeat', String(REPEAT), '--backend', backend, '--json', json],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.status !== 0 && r.status !== 1) throw new Error(`nat-matrix on ${backend} exited ${r.status}`);
  return JSON.parse(readFileSync(json, 'utf8')) as MatrixReport;
}

/** The dominant path of a cell ("relayed 5/5"). */
function cellPath(paths: Record<string, number>): string {
  const [kind, n] = Object.entries(paths).sort((a, b) => b[1] - a[1])[0] ?? ['?', 0];
  const total = Object.values(paths).reduce((a, b) => a + b, 0);
  return `${kind} ${n}/${total}`;
}

async function main(): Promise<void> {
  if (!isRoot()) {
    console.log('lab bench: skipped (needs root)');
    return;
  }
  const wanted = (arg('backends') ?? 'netns,docker').split(',');
  const backends = wanted.filter((b) => b !== 'docker' || process.env.QUICMESH_BENCH_NO_DOCKER !== '1');
  if (backends.includes('docker') && !(await engineAnswers(2000))) {
    console.log('lab bench: no Docker engine answers; measuring netns only');
    backends.splice(backends.indexOf('docker'), 1);
  }
  const dir = mkdtempSync(join(tmpdir(), 'qm-lab-bench-'));
  try {
    let images: Awaited<ReturnType<typeof imageBuild>> | null = null;
    if (backends.includes('docker') && PARTS.has('images')) images = await imageBuild();
    else if (backends.includes('docker')) await ensureImages();

    const quickstart = join(ROOT, 'topologies', 'quickstart.yaml');
    const many = join(dir, 'many.yaml');
    writeFileSync(many, manyNodes('bench-many', MANY));
    const none: UpDown = { up: [], down: [], memMiB: [] };
    const results = new Map<string, { qs: UpDown; many: UpDown }>();
    for (const b of backends) {
      const qs = PARTS.has('quickstart') ? await measure(b, quickstart, 'quickstart', RUNS) : none;
      const m = PARTS.has('many') ? await measure(b, many, 'bench-many', MANY_RUNS) : none;
      results.set(b, { qs, many: m });
    }
    const rows: string[][] = [];
    if (PARTS.has('quickstart')) {
      rows.push(
        ['quick start: up, every node ready', ...backends.map((b) => fmt(results.get(b)!.qs.up)), '≤ 8 s'],
        ['quick start: down', ...backends.map((b) => fmt(results.get(b)!.qs.down)), '≤ 3 s'],
      );
    }
    if (PARTS.has('many')) {
      rows.push(
        [`${MANY} nodes: up, every node ready`, ...backends.map((b) => fmt(results.get(b)!.many.up)), MANY === 50 ? '≤ 45 s' : '-'],
        [`${MANY} nodes: down`, ...backends.map((b) => fmt(results.get(b)!.many.down)), '-'],
        [
          'memory per node (MiB)',
          ...backends.map((b) => `${stats(results.get(b)!.many.memMiB).median.toFixed(1)}${b === 'docker' ? ' (node + pod containers)' : ' (process RSS)'}`),
          'reported',
        ],
      );
    }
    console.log(`\nlab backends (${RUNS} run(s) of the quick start; ${MANY} nodes ${MANY_RUNS} time(s); median (min–max)); netns is the baseline`);
    if (rows.length) table(['measure', ...backends, 'goal (docker)'], rows);
    if (images) {
      console.log('\ndocker images');
      table(
        ['measure', 'seconds', 'goal'],
        [
          ['image build from nothing', images.fromNothing.toFixed(2), '≤ 60 s'],
          ['image build, up to date', fmt(images.upToDate), '≤ 1 s'],
        ],
      );
    }
    if (parity && backends.length === 2) {
      const reports = backends.map((b) => matrix(b, dir));
      const rows: string[][] = [];
      let same = 0;
      for (const e of reports[0]!.expectations) {
        const other = reports[1]!.expectations.find((x) => x.text === e.text);
        const a = cellPath(e.paths);
        const b = other ? cellPath(other.paths) : '(missing)';
        if (a.split(' ')[0] === b.split(' ')[0]) same++;
        rows.push([e.text, a, b]);
      }
      console.log(`\nverdict parity, topologies/nat-matrix.yaml --repeat ${REPEAT}: ${same}/${rows.length} cells take the same path (${((100 * same) / rows.length).toFixed(0)}%; goal 100%)`);
      table(['expectation', ...backends], rows);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
