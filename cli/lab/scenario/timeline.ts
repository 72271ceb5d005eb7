/**
 * The timeline of a scenario: every action and check the steps of a topology's `scenario:` stand for,
 * at its time after the mesh is ready — repeated steps (`every` … `until`) once per time, and a churn as
 * its rounds, each naming the nodes it stops and starts. Pure and deterministic (a churn picks its nodes
 * with a seeded generator, among those the timeline has running at that time), so `validate` prints
 * exactly what `test` will do. run.ts executes it.
 */
import type { ScenarioAction, ScenarioCheck, ScenarioStep } from '../../topology/model.js';

/** An action the lab performs: a churn is planned into plain stop/start/restart entries. */
export type TimelineAction = Exclude<ScenarioAction, { kind: 'churn' }>;

export interface TimelineEntry {
  /** Position in the timeline (time order, then step order). */
  seq: number;
  atMs: number;
  /** The scenario step it comes from (its index and line in the file). */
  step: number;
  line: number;
  /** e.g. "restart bob", "churn round 2/6: restart peer-3, peer-7". */
  text: string;
  action?: TimelineAction;
  check?: ScenarioCheck;
}

/** A small seeded generator (mulberry32): the same seed picks the same nodes. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` items of `from`, picked with `rand`, in their original order. */
export function pick<T>(from: readonly T[], count: number, rand: () => number): T[] {
  const pool = [...from.keys()];
  const chosen: number[] = [];
  while (chosen.length < count && pool.length)
    chosen.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]!);
  return chosen.sort((a, b) => a - b).map((i) => from[i]!);
}

const baseText = (step: ScenarioStep): string => step.text.replace(/ — every .*$/, '');

interface Draft extends Omit<TimelineEntry, 'seq'> {
  /** Order among entries at the same time. */
  order: number;
}

/** Which of `nodes` are running at `atMs`, as the entries so far have it (all run at first). */
function runningAt(entries: readonly Draft[], nodes: readonly string[], atMs: number): string[] {
  const down = new Set<string>();
  const ordered = entries.filter((e) => e.atMs <= atMs).sort((a, b) => a.atMs - b.atMs || a.order - b.order);
  for (const e of ordered) {
    const a = e.action;
    if (a?.kind === 'stop') for (const n of a.nodes) down.add(n);
    if (a?.kind === 'start' || a?.kind === 'restart') for (const n of a.nodes) down.delete(n);
  }
  return nodes.filter((n) => !down.has(n));
}

export function planTimeline(steps: readonly ScenarioStep[]): TimelineEntry[] {
  const drafts: Draft[] = [];
  let order = 0;
  const push = (d: Omit<Draft, 'order'>): void => void drafts.push({ ...d, order: order++ });
  for (const step of steps) {
    if (step.action?.kind === 'churn') continue;
    const times: number[] = [];
    if (step.everyMs !== null && step.untilMs !== null && step.everyMs > 0) {
      for (let t = step.atMs; t <= step.untilMs; t += step.everyMs) times.push(t);
    } else times.push(step.atMs);
    for (const [k, t] of times.entries()) {
      push({
        atMs: t,
        step: step.index,
        line: step.line,
        text: times.length > 1 ? `${baseText(step)} (${k + 1}/${times.length})` : baseText(step),
        ...(step.action ? { action: step.action as TimelineAction } : {}),
        ...(step.check ? { check: step.check } : {}),
      });
    }
  }
  for (const step of steps) {
    const c = step.action;
    if (c?.kind !== 'churn') continue;
    const rand = seededRandom(c.seed);
    const count = Math.max(1, Math.round((c.fraction / 100) * c.nodes.length));
    const rounds = Math.ceil(c.forMs / c.everyMs);
    for (let k = 0; k < rounds; k++) {
      const t = step.atMs + k * c.everyMs;
      const chosen = pick(runningAt(drafts, c.nodes, t), count, rand);
      if (!chosen.length) continue;
      const head = `churn round ${k + 1}/${rounds}:`;
      const base = { step: step.index, line: step.line };
      if (c.downMs === 0) {
        push({
          ...base,
          atMs: t,
          text: `${head} restart ${chosen.join(', ')}`,
          action: { kind: 'restart', nodes: chosen },
        });
      } else {
        push({
          ...base,
          atMs: t,
          text: `${head} stop ${chosen.join(', ')}`,
          action: { kind: 'stop', nodes: chosen },
        });
        push({
          ...base,
          atMs: t + c.downMs,
          text: `${head} start ${chosen.join(', ')}`,
          action: { kind: 'start', nodes: chosen },
        });
      }
    }
  }
  // time order; at one time, in the order of the file's steps (an action listed before a check runs first)
  return drafts
    .sort((a, b) => a.atMs - b.atMs || a.step - b.step || a.order - b.order)
    .map(({ order: _order, ...e }, seq) => ({ seq, ...e }));
}

/** The timeline as `validate` prints it: one line per entry. */
export function formatTimeline(entries: readonly TimelineEntry[]): string[] {
  const at = (e: TimelineEntry) => `${(e.atMs / 1000).toFixed(1)} s`;
  const width = Math.max(0, ...entries.map((e) => at(e).length));
  return entries.map((e) => `${at(e).padStart(width)}  ${e.action ? 'action' : 'check '}  ${e.text}`);
}

/** When the timeline's last entry ends (a stream ends at its `until`). */
export function timelineEndMs(entries: readonly TimelineEntry[]): number {
  return Math.max(0, ...entries.map((e) => (e.check?.kind === 'stream' ? e.check.untilMs : e.atMs)));
}
