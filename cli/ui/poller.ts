/**
 * LabPoller: the live LabStore. Every interval it asks each node for GET /status and GET /metrics
 * (in parallel, each request bounded by a timeout), folds the answers into NodeViews, derives
 * events from what changed, and notifies subscribers once per poll. A node that does not answer is
 * marked down with the error and keeps its last status; the others keep updating.
 *
 * fetch and clock are injected: tests drive it with a fake fetch and a ManualClock.
 */
import { SystemClock, type Clock, type TimerHandle } from '../../src/core/clock.js';
import { ConfigError, TimeoutError, TransportError } from '../../src/errors.js';
import { EventLog, diffNode } from './events.js';
import { initialView, readMetrics, readStatus, requestRows, type NodeProcessInfo, type NodeTarget, type NodeView } from './node-view.js';
import { parsePromText } from './prom-text.js';
import { Listeners, type LabSnapshot, type LabStore } from './store.js';

/** The part of a fetch Response the poller uses. */
export interface HttpResponseLike {
  ok: boolean;
  status: number;
  text(): Promise<string>;
}

/** The part of global fetch the poller uses. */
export type FetchLike = (url: string, init: { signal: AbortSignal }) => Promise<HttpResponseLike>;

export interface LabPollerOptions {
  targets: readonly NodeTarget[];
  /** Header label; "" for an ad-hoc node list. */
  lab?: string;
  /** Default: global fetch. */
  fetch?: FetchLike;
  /** Default: SystemClock. */
  clock?: Clock;
  /** Time between poll starts, ms (default 1000). */
  intervalMs?: number;
  /** Per-request timeout, ms (default: the interval, at most 2000). */
  timeoutMs?: number;
  /** Events kept (default 200). */
  maxEvents?: number;
  /** Whether a command node's program runs (targets with `program`, which answer no /status). */
  liveness?: Liveness;
  /**
   * The nodes' processes as their lab records them, read once per poll (the TUI reads the lab's state):
   * a node its lab stopped is shown as stopped and not polled.
   */
  processes?: () => ReadonlyMap<string, NodeProcessInfo> | null;
}

/** Node kinds (issue 14): is a command node's process running? `error` says why not. */
export type Liveness = (target: NodeTarget) => Promise<{ running: boolean; error?: string | null }>;

export const DEFAULT_INTERVAL_MS = 1000;

export class LabPoller implements LabStore {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  private readonly fetch: FetchLike;
  private readonly clock: Clock;
  private readonly lab: string;
  private readonly listeners = new Listeners();
  private readonly log: EventLog;
  private views: NodeView[];
  private snapshot: LabSnapshot;
  private lastPollAt: number | null = null;
  private running = false;
  private timer: TimerHandle | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly aborts = new Set<AbortController>();
  private readonly liveness: Liveness | undefined;
  private readonly processes: (() => ReadonlyMap<string, NodeProcessInfo> | null) | undefined;

  constructor(opts: LabPollerOptions) {
    this.intervalMs = positiveInt('interval', opts.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timeoutMs = positiveInt('timeout', opts.timeoutMs ?? Math.min(this.intervalMs, 2000));
    const names = new Set<string>();
    for (const t of opts.targets) {
      if (names.has(t.name)) throw new ConfigError(`node "${t.name}" is listed twice`);
      names.add(t.name);
    }
    this.fetch = opts.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.clock = opts.clock ?? new SystemClock();
    this.lab = opts.lab ?? '';
    this.log = new EventLog(opts.maxEvents ?? 200);
    this.liveness = opts.liveness;
    this.processes = opts.processes;
    this.views = opts.targets.map(initialView);
    this.snapshot = this.makeSnapshot();
  }

  getSnapshot(): LabSnapshot {
    return this.snapshot;
  }

  subscribe(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  /** Poll now and then every interval until stop(). Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  /** Stop polling and abort requests in flight. */
  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
    for (const a of this.aborts) a.abort();
  }

  /** Resolves when the poll in flight (if any) has finished and been published. */
  settled(): Promise<void> {
    return this.inFlight ?? Promise.resolve();
  }

  /** One poll of every node; resolves after subscribers were notified. Joins a poll already running. */
  pollOnce(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    let procs: ReadonlyMap<string, NodeProcessInfo> | null = null;
    try {
      procs = this.processes?.() ?? null;
    } catch {
      procs = null; // the lab's state is unreadable for a moment: poll every node as usual
    }
    const run = Promise.all(this.views.map((v) => this.pollNode(v, procs?.get(v.target.name) ?? null))).then((next) => {
      const now = this.clock.now();
      next.forEach((view, i) => {
        diffNode(this.views[i]!, view, (kind, text) => this.log.add(now, view.target.name, kind, text));
      });
      this.views = next;
      this.lastPollAt = now;
      this.snapshot = this.makeSnapshot();
      this.inFlight = undefined;
      this.listeners.emit();
    });
    this.inFlight = run;
    return run;
  }

  private tick(): void {
    if (!this.running) return;
    const started = this.clock.now();
    void this.pollOnce().then(() => {
      if (!this.running) return;
      // Poll starts stay `intervalMs` apart; a slow poll is followed at once, never overlapped.
      const wait = Math.max(0, this.intervalMs - (this.clock.now() - started));
      this.timer = this.clock.setTimer(wait, () => this.tick());
    });
  }

  private async pollNode(prev: NodeView, process: NodeProcessInfo | null): Promise<NodeView> {
    if (process && !process.running) return { ...prev, state: 'stopped', lastError: null, process };
    const polled = prev.target.program !== undefined ? await this.pollProgram(prev) : await this.pollStatus(prev);
    return { ...polled, process };
  }

  private async pollStatus(prev: NodeView): Promise<NodeView> {
    const base = prev.target.baseUrl;
    const [status, metrics] = await Promise.allSettled([this.get(base, '/status'), this.get(base, '/metrics')]);
    const now = this.clock.now();
    if (status.status === 'rejected') {
      return { ...prev, state: 'down', lastError: message(status.reason) };
    }
    let statusView;
    try {
      statusView = readStatus(JSON.parse(status.value));
    } catch (err) {
      return { ...prev, state: 'down', lastError: `bad /status: ${message(err)}` };
    }
    let metricsView = prev.metrics;
    let lastError: string | null = null;
    if (metrics.status === 'rejected') {
      lastError = message(metrics.reason);
    } else {
      try {
        metricsView = readMetrics(parsePromText(metrics.value).samples, prev.metrics);
      } catch (err) {
        lastError = `bad /metrics: ${message(err)}`;
      }
    }
    const dt = prev.lastOkAt === null ? 0 : now - prev.lastOkAt;
    return {
      target: prev.target,
      state: 'up',
      lastError,
      lastOkAt: now,
      status: statusView,
      metrics: metricsView,
      requests: requestRows(statusView, prev.state === 'up' ? prev.status : null, dt),
      process: prev.process,
    };
  }

  /** A command node: up while its process runs (it has no /status or /metrics to read). */
  private async pollProgram(prev: NodeView): Promise<NodeView> {
    if (!this.liveness) return { ...prev, state: 'down', lastError: 'a command node: no way to ask whether it runs' };
    try {
      const live = await this.liveness(prev.target);
      if (!live.running) return { ...prev, state: 'down', lastError: live.error ?? 'not running' };
      return { ...prev, state: 'up', lastError: null, lastOkAt: this.clock.now() };
    } catch (err) {
      return { ...prev, state: 'down', lastError: message(err) };
    }
  }

  /** GET base+path as text within the timeout (the body read included); errors name the path. */
  private async get(base: string, path: string): Promise<string> {
    const url = base + path;
    const ctl = new AbortController();
    this.aborts.add(ctl);
    let timedOut = false;
    let onAbort: (() => void) | undefined;
    // Race against the abort too, so a fetch that ignores its signal still cannot hang a poll.
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () =>
        reject(timedOut ? new TimeoutError(`${path}: no answer within ${this.timeoutMs} ms`) : new TransportError(`${path}: stopped`));
      ctl.signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => {});
    const timer = this.clock.setTimer(this.timeoutMs, () => {
      timedOut = true;
      ctl.abort();
    });
    try {
      const body = (async () => {
        const res = await this.fetch(url, { signal: ctl.signal });
        if (!res.ok) throw new TransportError(`${path}: HTTP ${res.status}`);
        return res.text();
      })();
      body.catch(() => {});
      return await Promise.race([body, aborted]);
    } catch (err) {
      if (err instanceof TransportError) throw err;
      throw new TransportError(`${path}: ${message(err)}`, { cause: err });
    } finally {
      timer.cancel();
      if (onAbort) ctl.signal.removeEventListener('abort', onAbort);
      this.aborts.delete(ctl);
    }
  }

  private makeSnapshot(): LabSnapshot {
    return {
      lab: this.lab,
      nodes: this.views,
      events: this.log.list(),
      now: this.clock.now(),
      lastPollAt: this.lastPollAt,
      intervalMs: this.intervalMs,
    };
  }
}

function positiveInt(what: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${what} must be a positive number of milliseconds, got ${v}`);
  return v;
}

/** A short message; fetch's "fetch failed" hides the useful part in `cause`. */
function message(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause;
  if (cause instanceof Error && cause.message && err.message === 'fetch failed') return cause.message;
  return err.message;
}
