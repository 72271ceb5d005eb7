/**
 * Run the live UI on the terminal: start a LabPoller over the targets, render the App with Ink
 * (Ink rewrites only its own frame, never clearing the whole screen; its experimental incremental
 * mode left stale lines behind in tmux, so it is off), and
 * resolve once the user quits, with the poller stopped.
 */
import { render } from 'ink';
import { SystemClock, type Clock } from '../../src/core/clock.js';
import { App } from './app.js';
import type { NodeProcessInfo, NodeTarget } from './node-view.js';
import { LabPoller, type FetchLike, type Liveness } from './poller.js';

export interface RunTuiOptions {
  lab: string;
  targets: readonly NodeTarget[];
  intervalMs?: number;
  timeoutMs?: number;
  eventLines?: number;
  fetch?: FetchLike;
  clock?: Clock;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** Whether a command node runs (node kinds); see LabPollerOptions.liveness. */
  liveness?: Liveness;
  /** The nodes' processes as the lab records them now (stopped nodes are shown as such). */
  processes?: () => ReadonlyMap<string, NodeProcessInfo> | null;
}

export async function runTui(opts: RunTuiOptions): Promise<void> {
  const clock = opts.clock ?? new SystemClock();
  const poller = new LabPoller({
    lab: opts.lab,
    targets: opts.targets,
    intervalMs: opts.intervalMs,
    timeoutMs: opts.timeoutMs,
    fetch: opts.fetch,
    clock,
    ...(opts.liveness ? { liveness: opts.liveness } : {}),
    ...(opts.processes ? { processes: opts.processes } : {}),
  });
  poller.start();
  const instance = render(<App store={poller} clock={clock} eventLines={opts.eventLines} />, {
    // Ink takes an explicit `undefined` as "no stream": pass only what was given.
    ...(opts.stdout ? { stdout: opts.stdout } : {}),
    ...(opts.stdin ? { stdin: opts.stdin } : {}),
    exitOnCtrlC: true,
    maxFps: 10,
  });
  try {
    await instance.waitUntilExit();
  } finally {
    poller.stop();
  }
}
