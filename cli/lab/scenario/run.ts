/**
 * Running a scenario's timeline (timeline.ts) against a lab, through a ScenarioDriver (driver.ts: the lab
 * runtime and the nodes' control endpoints; a fake in unit tests) on an injected clock.
 *
 * Each entry starts at its time, and not before the actions ahead of it have finished: actions run one
 * after the other (a restart is done — its node answers /status — before the check after it starts), while
 * checks run in the background from their start, so a long check never delays the actions after it. An
 * entry that starts late says by how much. A failed action fails the run but the timeline goes on, so the
 * report is complete.
 *
 * The runner keeps track of which nodes run: a check probes no node it knows to be stopped; an all-pairs
 * check pairs only nodes that have run for at least its `settle` time, and leaves out (as skipped, not
 * failed) a probe during which one of its two nodes was stopped, started or moved.
 */
import type { Clock } from '../../../src/core/clock.js';
import type { PathKind, ScenarioCheck } from '../../topology/model.js';
import { formatMs } from '../../topology/scenario.js';
import { pathSatisfies, type ObservedPath } from '../verdicts/verdicts.js';
import { pick, seededRandom, type TimelineAction, type TimelineEntry } from './timeline.js';

export interface ProbeOutcome {
  connected: boolean;
  path: ObservedPath | null;
  /** The lookup of the peer's endpoint record, ms; null when there was none. */
  resolveMs: number | null;
  timeToConnectMs: number | null;
  error?: string;
}

export interface StreamOutcome {
  intact: boolean;
  sentBytes: number;
  peerBytes: number | null;
  /** The longest pause the receiver saw between two arrivals, ms. */
  maxGapMs: number | null;
  error?: string;
}

export interface ActionOutcome {
  summary: string;
  detail?: unknown;
}

/** What the runner asks of the lab. `act` throws when the action failed. */
export interface ScenarioDriver {
  act(action: TimelineAction, signal: AbortSignal): Promise<ActionOutcome>;
  /** A connect from `from` to `to`; `fresh`: close what connects them first, so a new connection is measured. */
  probe(from: string, to: string, opts: { timeoutMs: number; fresh: boolean }, signal: AbortSignal): Promise<ProbeOutcome>;
  stream(from: string, to: string, durationMs: number, signal: AbortSignal): Promise<StreamOutcome>;
}

export interface RunTimelineOptions {
  clock: Clock;
  driver: ScenarioDriver;
  /** Every node of the lab; all run when the timeline starts. */
  nodes: readonly string[];
  /** The path the topology's expectations give a pair ('any' where they give none). */
  expectedPath(from: string, to: string): PathKind;
  /** Deadline of a probe without a `within`, ms. */
  connectTimeoutMs: number;
  /** Most probes in flight at once, per check. */
  parallel: number;
  /** Seeds the pairs an all-pairs check samples (with the entry's position). */
  seed?: number;
  signal?: AbortSignal;
  /** Each entry as it starts and as it ends. */
  onStart?(entry: TimelineEntry, startedMs: number): void;
  onEntry?(result: EntryResult): void;
}

export interface PairResult {
  from: string;
  to: string;
  ok: boolean;
  connected: boolean;
  path: ObservedPath | null;
  resolveMs: number | null;
  timeToConnectMs: number | null;
  /** Lookup plus connect, ms (null when not connected). */
  totalMs: number | null;
  /** What the pair had to show: 'any', 'direct', … */
  expected: PathKind;
  error?: string;
  /** Left out of the verdict, and why (a node stopped or started during the probe). */
  skipped?: string;
}

export interface EntryResult {
  seq: number;
  step: number;
  line: number;
  atMs: number;
  text: string;
  kind: 'action' | 'check';
  /** Times after the timeline started, ms; null when it never started (the run was interrupted). */
  startedMs: number | null;
  endedMs: number | null;
  ok: boolean;
  summary: string;
  /**
   * The time a check is judged by, ms — expect: the slowest pair's lookup and connect; all-pairs: the
   * slowest pair's; stream: the longest stall; an action: how long it took.
   */
  metricMs: number | null;
  pairs?: PairResult[];
  stream?: StreamOutcome;
  detail?: unknown;
}

export interface TimelineRun {
  ok: boolean;
  durationMs: number;
  entries: EntryResult[];
}

/** Wait on the clock, ending early on abort. */
function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = clock.setTimer(ms, done);
    function done(): void {
      timer.cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** `fn` over `items`, at most `limit` at once, results in order; never rejects (fn must not). */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

const message = (err: unknown): string => (err instanceof Error ? err.message.split('\n')[0]! : String(err));
const round = (x: number): number => Math.round(x * 10) / 10;

/** Which nodes of a stop/start/restart/move an action concerns. */
function touched(a: TimelineAction): string[] {
  if (a.kind === 'stop' || a.kind === 'start' || a.kind === 'restart') return a.nodes;
  return a.kind === 'move' ? [a.node] : [];
}

interface Life {
  running: boolean;
  /** Since when it has run (after the timeline started, ms; -Infinity: from the start). */
  since: number;
  /** When it was stopped, started or moved. */
  changes: number[];
}

export async function runTimeline(
  entries: readonly TimelineEntry[],
  opts: RunTimelineOptions,
): Promise<TimelineRun> {
  const { clock, driver } = opts;
  const signal = opts.signal ?? new AbortController().signal;
  const t0 = clock.now();
  const rel = (): number => round(clock.now() - t0);
  const life = new Map<string, Life>(
    opts.nodes.map((n) => [n, { running: true, since: -Infinity, changes: [] }]),
  );
  const lifeOf = (n: string): Life => life.get(n) ?? { running: false, since: Infinity, changes: [] };
  const changedDuring = (n: string, a: number, b: number): boolean =>
    lifeOf(n).changes.some((t) => t >= a && t <= b);
  /** Streams in flight, by their two nodes (either way). */
  const streams = new Map<string, number>();
  const pairKey = (a: string, b: string): string => (a < b ? `${a}\n${b}` : `${b}\n${a}`);
  const streaming = (a: string, b: string): boolean => (streams.get(pairKey(a, b)) ?? 0) > 0;
  const results: EntryResult[] = entries.map((e) => ({
    seq: e.seq,
    step: e.step,
    line: e.line,
    atMs: e.atMs,
    text: e.text,
    kind: e.action ? 'action' : 'check',
    startedMs: null,
    endedMs: null,
    ok: false,
    summary: 'not run (interrupted)',
    metricMs: null,
  }));

  /** One probe, judged against `expected` and `withinMs`. */
  const probe = async (
    from: string,
    to: string,
    expected: PathKind,
    withinMs: number | null,
  ): Promise<PairResult> => {
    const base = {
      from,
      to,
      expected,
      connected: false,
      path: null,
      resolveMs: null,
      timeToConnectMs: null,
      totalMs: null,
    };
    const stopped = [from, to].filter((n) => !lifeOf(n).running);
    if (stopped.length)
      return {
        ...base,
        ok: false,
        error: `${stopped.join(' and ')} ${stopped.length > 1 ? 'are' : 'is'} stopped`,
      };
    let o: ProbeOutcome;
    try {
      // a new connection is measured, unless the scenario streams between the two: that one must not be cut
      o = await driver.probe(from, to, { timeoutMs: withinMs ?? opts.connectTimeoutMs, fresh: !streaming(from, to) }, signal);
    } catch (err) {
      return { ...base, ok: false, error: message(err) };
    }
    const totalMs =
      o.connected && o.timeToConnectMs !== null ? round((o.resolveMs ?? 0) + o.timeToConnectMs) : null;
    const pathOk = o.connected && pathSatisfies(expected, o.path);
    const inTime = withinMs === null || (totalMs !== null && totalMs <= withinMs);
    let error = o.error;
    if (o.connected && !pathOk) error = `connected ${o.path ?? 'on an unknown path'}, expected ${expected}`;
    else if (o.connected && !inTime)
      error = `connected in ${formatMs(totalMs ?? 0)} (lookup ${formatMs(round(o.resolveMs ?? 0))}), over ${formatMs(withinMs!)}`;
    return {
      ...base,
      connected: o.connected,
      path: o.path,
      resolveMs: o.resolveMs,
      timeToConnectMs: o.timeToConnectMs,
      totalMs,
      ok: pathOk && inTime,
      ...(error ? { error } : {}),
    };
  };

  const slowest = (pairs: readonly PairResult[]): number | null => {
    const times = pairs.filter((p) => p.ok && p.totalMs !== null).map((p) => p.totalMs!);
    return times.length ? Math.max(...times) : null;
  };
  const paths = (pairs: readonly PairResult[]): string => {
    const n = new Map<string, number>();
    for (const p of pairs) if (p.connected) n.set(p.path ?? 'unknown', (n.get(p.path ?? 'unknown') ?? 0) + 1);
    return [...n].map(([k, v]) => `${k} ${v}`).join(', ');
  };
  const failures = (pairs: readonly PairResult[]): string =>
    pairs
      .filter((p) => !p.ok && !p.skipped)
      .slice(0, 3)
      .map((p) => `${p.from} -> ${p.to}: ${p.error ?? 'not connected'}`)
      .join('; ');

  const runCheck = async (check: ScenarioCheck, r: EntryResult, entry: TimelineEntry): Promise<void> => {
    if (check.kind === 'expect') {
      const pairs = await mapLimit(check.pairs, opts.parallel, (p) =>
        probe(p.from, p.to, check.path, check.withinMs),
      );
      const ok = pairs.filter((p) => p.ok).length;
      r.pairs = pairs;
      r.ok = ok === pairs.length;
      r.metricMs = slowest(pairs);
      r.summary = `${ok}/${pairs.length} connected as expected${r.metricMs !== null ? `, slowest ${formatMs(r.metricMs)} (lookup and connect)` : ''}${r.ok ? '' : `; ${failures(pairs)}`}`;
    } else if (check.kind === 'stream') {
      const durationMs = check.untilMs - entry.atMs;
      const stopped = [check.from, check.to].filter((n) => !lifeOf(n).running);
      let s: StreamOutcome;
      if (stopped.length)
        s = {
          intact: false,
          sentBytes: 0,
          peerBytes: null,
          maxGapMs: null,
          error: `${stopped.join(' and ')} stopped`,
        };
      else {
        const key = pairKey(check.from, check.to);
        streams.set(key, (streams.get(key) ?? 0) + 1);
        try {
          s = await driver.stream(check.from, check.to, durationMs, signal);
        } catch (err) {
          s = { intact: false, sentBytes: 0, peerBytes: null, maxGapMs: null, error: message(err) };
        } finally {
          streams.set(key, streams.get(key)! - 1);
        }
      }
      r.stream = s;
      r.metricMs = s.maxGapMs;
      const stallOk = check.maxStallMs === null || (s.maxGapMs !== null && s.maxGapMs <= check.maxStallMs);
      r.ok = s.intact && stallOk;
      const lost =
        s.peerBytes === null
          ? 'no account from the receiver'
          : `${s.peerBytes} of ${s.sentBytes} bytes arrived`;
      r.summary = s.intact
        ? `intact: ${s.sentBytes} bytes, longest stall ${formatMs(s.maxGapMs ?? 0)}${stallOk ? '' : ` (over ${formatMs(check.maxStallMs!)})`}`
        : `broken: ${s.error ?? lost}`;
    } else {
      const now = rel();
      const live = check.among.filter((n) => lifeOf(n).running && now - lifeOf(n).since >= check.settleMs);
      let all = live.flatMap((a) => live.filter((b) => b !== a).map((b) => ({ from: a, to: b })));
      if (check.sample !== null && check.sample < all.length)
        all = pick(all, check.sample, seededRandom((opts.seed ?? 1) * 7919 + entry.seq));
      const pairs = await mapLimit(all, opts.parallel, async (p): Promise<PairResult> => {
        const start = rel();
        const expected = check.path === 'expected' ? opts.expectedPath(p.from, p.to) : check.path;
        // a node stopped or started since the check began is not live now: its pairs are left out
        const notLive = [p.from, p.to].filter(
          (n) => !lifeOf(n).running || start - lifeOf(n).since < check.settleMs,
        );
        if (notLive.length) {
          const none = {
            connected: false,
            path: null,
            resolveMs: null,
            timeToConnectMs: null,
            totalMs: null,
          };
          return {
            ...p,
            ...none,
            expected,
            ok: false,
            skipped: `${notLive.join(' and ')} not live when its turn came`,
          };
        }
        const res = await probe(p.from, p.to, expected, check.withinMs);
        const moved = [p.from, p.to].filter((n) => changedDuring(n, start, rel()));
        return moved.length && !res.ok
          ? { ...res, skipped: `${moved.join(' and ')} stopped, started or moved during the probe` }
          : res;
      });
      const judged = pairs.filter((p) => !p.skipped);
      const ok = judged.filter((p) => p.ok).length;
      r.pairs = pairs;
      r.ok = ok === judged.length && judged.length > 0;
      r.metricMs = slowest(pairs);
      const left = check.among.length - live.length;
      r.summary =
        `${ok}/${judged.length} pairs connected (${paths(judged) || 'none'})` +
        (pairs.length > judged.length
          ? `, ${pairs.length - judged.length} skipped (a node stopped or started meanwhile)`
          : '') +
        (left ? `, ${left} node(s) not live` : '') +
        (r.ok ? '' : judged.length ? `; ${failures(judged)}` : '; no live pair to probe');
    }
  };

  const runAction = async (a: TimelineAction, r: EntryResult): Promise<void> => {
    const nodes = touched(a);
    const t = rel();
    for (const n of nodes) {
      const l = lifeOf(n);
      l.changes.push(t);
      if (a.kind !== 'move') l.running = false;
    }
    let ok = false;
    try {
      const out = await driver.act(a, signal);
      ok = true;
      r.summary = out.summary;
      if (out.detail !== undefined) r.detail = out.detail;
    } catch (err) {
      r.summary = `failed: ${message(err)}`;
    }
    const end = rel();
    for (const n of nodes) {
      const l = lifeOf(n);
      l.changes.push(end);
      if (a.kind === 'start' || a.kind === 'restart' || a.kind === 'move') {
        // a node whose start failed is taken as not running; a moved one runs on, newly placed
        l.running = a.kind === 'move' ? l.running || ok : ok;
        l.since = end;
      }
    }
    r.ok = ok;
    r.metricMs = round(end - t);
  };

  const background: Array<Promise<void>> = [];
  for (const [i, e] of entries.entries()) {
    await sleep(clock, t0 + e.atMs - clock.now(), signal);
    if (signal.aborted) break;
    const r = results[i]!;
    r.startedMs = rel();
    opts.onStart?.(e, r.startedMs);
    const finish = (): void => {
      r.endedMs = rel();
      opts.onEntry?.(r);
    };
    if (e.action) {
      await runAction(e.action, r);
      finish();
    } else if (e.check) {
      background.push(
        runCheck(e.check, r, e).then(finish, (err: unknown) => {
          r.ok = false;
          r.summary = `failed: ${message(err)}`;
          finish();
        }),
      );
    }
  }
  await Promise.all(background);
  return { ok: results.every((r) => r.ok), durationMs: rel(), entries: results };
}
