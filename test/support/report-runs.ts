/** Builders for the report tests: runs made through the real pipeline (verdicts → JSON → RunReport). */
import type { PathKind } from '../../cli/topology/model.js';
import { usualPath } from '../../cli/lab/report/compare.js';
import { loadReport, reportFromRun, type RunReport } from '../../cli/lab/report/load.js';
import { toJsonReport, type RunInfo } from '../../cli/lab/verdicts/json.js';
import { computeVerdicts, type Observation } from '../../cli/lab/verdicts/verdicts.js';

export function expectation(from: string, to: string, path: PathKind = 'any', line = 10) {
  const text = `${from} -> ${to}: ${path}`;
  return { text, source: text, from, to, path, withinMs: null, line };
}

export const ok = (path: Observation['path'], ms: number): Observation => ({
  connected: true,
  path,
  timeToConnectMs: ms,
});
export const down = (error = 'timeout'): Observation => ({
  connected: false,
  path: null,
  timeToConnectMs: null,
  error,
});

export interface CellSpec {
  from: string;
  to: string;
  path?: PathKind;
  obs: Observation[];
}

export function runOf(cells: readonly CellSpec[], run: Partial<RunInfo> = {}, topology = 'mini'): RunReport {
  const report = computeVerdicts(
    cells.map((c, i) => ({
      expectation: expectation(c.from, c.to, c.path ?? 'any', 10 + i),
      repeats: c.obs,
    })),
    { topology },
  );
  return reportFromRun(toJsonReport(report, run));
}

/** A seeded uniform [0, 1) generator (mulberry32): the simulations are the same on every run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A time to connect around `medianMs`, log-normal with the spread a lab shows (σ = 0.3). */
export function timeAround(rand: () => number, medianMs: number): number {
  const u = Math.max(1e-12, rand());
  const v = rand();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return Math.round(medianMs * Math.exp(0.3 * z) * 10) / 10;
}

/**
 * A run shaped like the NAT matrix (the 36 cells of test/fixtures/reports/nat-matrix-v1.json, each on the
 * path it took there, times around its median), `repeats` per cell; hole-punched repeats `punchDelayMs`
 * slower, as with QUICMESH_TEST_PUNCH_DELAY_MS.
 */
export function natMatrixRun(
  rand: () => number,
  opts: { repeats: number; run?: Partial<RunInfo>; punchDelayMs?: number },
): RunReport {
  const v1 = loadReport('test/fixtures/reports/nat-matrix-v1.json');
  const results = v1.cells.map((c) => {
    const path = usualPath(c.paths) ?? 'direct';
    const repeats = Array.from({ length: opts.repeats }, () =>
      ok(path, timeAround(rand, c.p50Ms ?? 50) + (path === 'hole-punched' ? (opts.punchDelayMs ?? 0) : 0)),
    );
    return {
      expectation: {
        text: c.text,
        source: c.text,
        from: c.from,
        to: c.to,
        path: c.path,
        withinMs: c.withinMs,
        line: c.line,
      },
      repeats,
    };
  });
  return reportFromRun(toJsonReport(computeVerdicts(results, { topology: 'nat-matrix' }), opts.run ?? {}));
}
