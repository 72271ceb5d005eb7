/**
 * The scenario phase of `quicmesh-lab test`: the topology's timeline run `repeats` times on the lab, the
 * lab put back as the topology describes it between runs (partitions healed, cut links up, shaping as
 * declared, stopped nodes started, moved nodes home) and the mesh awaited again, so every run starts from
 * the same place. Reports every entry of every run with its time, and per entry how many runs passed and
 * the time it is judged by (p50 and max over the runs).
 */
import type { LabRuntime } from '../../runtime/index.js';
import { readState } from '../../runtime/state.js';
import type { PathKind, ResolvedTopology } from '../../topology/model.js';
import { formatMs } from '../../topology/scenario.js';
import { isCommandMember, type LabMember } from '../command-probe.js';
import type { MeshMember } from '../mesh-ready.js';
import { ScenarioClock } from './clock.js';
import type { ConnectFn } from '../run-expectations.js';
import { labDriver } from './driver.js';
import { runTimeline, type EntryResult } from './run.js';
import { planTimeline, type TimelineEntry } from './timeline.js';

export interface ScenarioRun {
  repeat: number;
  ok: boolean;
  durationMs: number;
  results: EntryResult[];
}

export interface ScenarioEntrySummary {
  seq: number;
  atMs: number;
  line: number;
  text: string;
  kind: 'action' | 'check';
  passed: number;
  runs: number;
  /** The time the entry is judged by (see EntryResult.metricMs), over the runs that measured one. */
  p50Ms: number | null;
  maxMs: number | null;
  /**
   * A check's probes over all runs (expect, all-pairs): how many held (connected, on the path asked, in
   * time) of those judged, and how many were left out (a node stopped or started meanwhile); null for
   * streams and actions.
   */
  probes: { ok: number; judged: number; skipped: number } | null;
}

/** The timeline part of the reports (JSON `timeline`, JUnit suite "scenario"). */
export interface ScenarioReport {
  repeats: number;
  pass: boolean;
  entries: Array<
    Pick<TimelineEntry, 'seq' | 'atMs' | 'step' | 'line' | 'text'> & { kind: 'action' | 'check' }
  >;
  runs: ScenarioRun[];
  summary: ScenarioEntrySummary[];
}

export interface ScenarioPhaseOptions {
  topology: ResolvedTopology;
  runtime: LabRuntime;
  lab: string;
  /** Every node: quicmesh nodes (control endpoints) and command nodes (node kinds). */
  members: ReadonlyMap<string, LabMember>;
  /** Runs a command node's `probe:` (node kinds); needed when a check starts at one. */
  commandProbe?: ConnectFn<LabMember>;
  repeats: number;
  connectTimeoutMs: number;
  parallel: number;
  readyTimeoutMs: number;
  signal: AbortSignal;
  say(line: string): void;
  /** Waits for the mesh (the quicmesh nodes) again after the lab was put back (between runs); returns its members then. */
  awaitMesh(): Promise<ReadonlyMap<string, MeshMember>>;
}

/** The path the topology's expectations give a pair, 'any' where they give none. */
export function expectedPathOf(topology: ResolvedTopology): (from: string, to: string) => PathKind {
  const paths = new Map(topology.expectations.map((e) => [`${e.from}\n${e.to}`, e.path] as const));
  return (from, to) => paths.get(`${from}\n${to}`) ?? 'any';
}

/** Nearest-rank percentile of a non-empty list. */
function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

function probeCount(results: readonly EntryResult[]): ScenarioEntrySummary['probes'] {
  const pairs = results.flatMap((r) => r.pairs ?? []);
  if (!results.some((r) => r.pairs)) return null;
  const judged = pairs.filter((p) => !p.skipped);
  return { ok: judged.filter((p) => p.ok).length, judged: judged.length, skipped: pairs.length - judged.length };
}

export function summarize(
  entries: readonly TimelineEntry[],
  runs: readonly ScenarioRun[],
): ScenarioEntrySummary[] {
  return entries.map((e, i) => {
    const results = runs.map((r) => r.results[i]!).filter(Boolean);
    const times = results.map((r) => r.metricMs).filter((x): x is number => x !== null);
    return {
      seq: e.seq,
      atMs: e.atMs,
      line: e.line,
      text: e.text,
      kind: e.action ? 'action' : 'check',
      passed: results.filter((r) => r.ok).length,
      runs: results.length,
      p50Ms: times.length ? percentile(times, 0.5) : null,
      maxMs: times.length ? Math.max(...times) : null,
      probes: probeCount(results),
    };
  });
}

/**
 * Put a lab back as its topology describes it: partitions healed, cut links up, shaping as declared,
 * moved nodes home at their addresses, stopped nodes started. Returns what it did, for the progress line.
 */
export async function restoreLab(
  runtime: LabRuntime,
  lab: string,
  topology: ResolvedTopology,
  readyTimeoutMs: number,
): Promise<string[]> {
  const state = readState(lab);
  if (!state) throw new Error(`lab ${lab} is gone`);
  const done: string[] = [];
  if (state.partitions?.length) {
    await runtime.heal(lab);
    done.push('healed');
  }
  // whole networks first: bringing one up brings its nodes' ports up too
  const cuts = [...(state.linkCuts ?? [])].sort((a, b) => Number(a.node !== null) - Number(b.node !== null));
  for (const c of cuts) {
    if (!readState(lab)?.linkCuts?.some((x) => x.network === c.network && x.node === c.node)) continue;
    await runtime.setLinkState(lab, c.network, c.node, true);
    done.push(`link up ${c.network}${c.node ? ` --node ${c.node}` : ''}`);
  }
  const zero = { delayMs: 0, jitterMs: 0, lossPct: 0, rateKbit: 0 };
  const key = (l: { network: string; node: string | null }) => `${l.network}\n${l.node ?? ''}`;
  const declared = new Map(topology.links.map((l) => [key(l), l]));
  for (const now of state.links ?? []) {
    const want =
      declared.get(key(now)) ??
      (now.node ? (declared.get(key({ network: now.network, node: null })) ?? zero) : zero);
    const same =
      now.delayMs === want.delayMs &&
      now.jitterMs === want.jitterMs &&
      now.lossPct === want.lossPct &&
      now.rateKbit === want.rateKbit;
    if (same) continue;
    await runtime.setLink(lab, {
      network: now.network,
      ...(now.node ? { node: now.node } : {}),
      delayMs: want.delayMs,
      jitterMs: want.jitterMs,
      lossPct: want.lossPct,
      rateKbit: want.rateKbit,
    });
    done.push(`link set ${now.network}${now.node ? ` --node ${now.node}` : ''}`);
  }
  for (const n of topology.nodes) {
    const rec = state.nodes.find((x) => x.name === n.name);
    if (!rec || (rec.network === n.network && rec.addresses[0]?.split('/')[0] === n.address)) continue;
    await runtime.moveHost(lab, n.name, n.network, { address: n.address });
    done.push(`move ${n.name} home`);
  }
  const stopped = (readState(lab)?.nodes ?? []).filter(
    (n) => n.kind === 'host' && n.process && !n.process.running,
  );
  await Promise.all(stopped.map((n) => runtime.startNode(lab, n.name, { readyTimeoutMs })));
  if (stopped.length) done.push(`started ${stopped.map((n) => n.name).join(', ')}`);
  return done;
}

// The timeline waits on a ScenarioClock, whose timers hold the process: command nodes' probes leave no
// keep-alive sockets behind, and with SystemClock's unref'd timers Node would exit mid-run.
export async function runScenarioPhase(opts: ScenarioPhaseOptions): Promise<ScenarioReport> {
  const entries = planTimeline(opts.topology.scenario ?? []);
  const clock = new ScenarioClock();
  const expectedPath = expectedPathOf(opts.topology);
  const runs: ScenarioRun[] = [];
  let members = opts.members;
  for (let repeat = 1; repeat <= opts.repeats; repeat++) {
    if (opts.signal.aborted) break;
    if (repeat > 1) {
      const done = await restoreLab(opts.runtime, opts.lab, opts.topology, opts.readyTimeoutMs);
      opts.say(
        `scenario run ${repeat}/${opts.repeats}: lab put back (${done.join(', ') || 'nothing to undo'}), waiting for the mesh`,
      );
      const mesh = await opts.awaitMesh();
      // command nodes keep their members (their probes need no endpoint); the quicmesh nodes' are fresh
      members = new Map<string, LabMember>([...[...members].filter(([, m]) => isCommandMember(m)), ...mesh]);
    }
    opts.say(`scenario run ${repeat}/${opts.repeats}: ${entries.length} timeline entries`);
    const driver = labDriver({
      runtime: opts.runtime,
      lab: opts.lab,
      members,
      readyTimeoutMs: opts.readyTimeoutMs,
      ...(opts.commandProbe ? { commandProbe: opts.commandProbe } : {}),
    });
    const run = await runTimeline(entries, {
      clock,
      driver,
      nodes: opts.topology.nodes.map((n) => n.name),
      expectedPath,
      connectTimeoutMs: opts.connectTimeoutMs,
      parallel: opts.parallel,
      seed: repeat,
      signal: opts.signal,
      onEntry: (r) => {
        const late =
          r.startedMs !== null && r.startedMs - r.atMs > 250
            ? ` (started ${formatMs(Math.round(r.startedMs - r.atMs))} late)`
            : '';
        opts.say(
          `  [${((r.startedMs ?? 0) / 1000).toFixed(2)} s] ${r.ok ? 'ok  ' : 'FAIL'} ${r.text}: ${r.summary}${late}`,
        );
      },
    });
    runs.push({ repeat, ok: run.ok, durationMs: run.durationMs, results: run.entries });
  }
  return {
    repeats: opts.repeats,
    pass: runs.length === opts.repeats && runs.every((r) => r.ok),
    entries: entries.map((e) => ({
      seq: e.seq,
      atMs: e.atMs,
      step: e.step,
      line: e.line,
      text: e.text,
      kind: e.action ? 'action' : 'check',
    })),
    runs,
    summary: summarize(entries, runs),
  };
}

/** The scenario's part of the printed report: every entry with its time, runs passed and judged times. */
export function formatScenarioReport(report: ScenarioReport): string {
  const failedEntries = report.summary.filter((s) => s.passed < s.runs);
  const head = `scenario: ${report.entries.length} timeline entries × ${report.runs.length} run(s): ${report.pass ? 'every entry held in every run' : `${failedEntries.length} entr${failedEntries.length === 1 ? 'y' : 'ies'} failed`}`;
  const rows = report.summary.map((s) => [
    `${(s.atMs / 1000).toFixed(1)} s`,
    s.kind,
    s.text,
    `${s.passed}/${s.runs}`,
    s.probes === null ? '-' : `${s.probes.ok}/${s.probes.judged}`,
    s.p50Ms === null ? '-' : formatMs(Math.round(s.p50Ms)),
    s.maxMs === null ? '-' : formatMs(Math.round(s.maxMs)),
  ]);
  const title = ['AT', 'KIND', 'STEP', 'RUNS', 'PROBES', 'P50', 'MAX'];
  const widths = title.map((t, i) => Math.max(t.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i >= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const failures: string[] = [];
  for (const run of report.runs)
    for (const r of run.results)
      if (!r.ok)
        failures.push(
          `  run ${run.repeat}, ${((r.startedMs ?? r.atMs) / 1000).toFixed(2)} s, ${r.text}: ${r.summary}`,
        );
  return [
    head,
    `  PROBES: probes that held of those judged, over all runs; P50/MAX over the runs — expect and all-pairs: slowest lookup+connect; stream: longest stall; actions: how long they took`,
    `  ${line(title)}`,
    ...rows.map((r) => `  ${line(r)}`),
    ...(failures.length ? ['failures:', ...failures] : []),
    '',
  ].join('\n');
}
