/**
 * `quicmesh-lab tui [NAME] [--interval MS] [--timeout MS] [--nodes name=url,...]`: the live terminal
 * UI of a running lab. Nodes come from the lab's state file (its hosts and their management status
 * URLs); --nodes adds (or, without a lab, supplies) nodes by URL, so the UI also watches nodes that no
 * lab started. Needs an interactive terminal; `quicmesh-lab status` is the scriptable view.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { ConfigError } from '../../../src/errors.js';
import type { NodeProcessInfo, NodeTarget } from '../../ui/node-view.js';
import { DEFAULT_INTERVAL_MS } from '../../ui/poller.js';
import { parseNodesFlag, targetsFromLabState } from '../../ui/targets.js';
import type { LabContext } from '../io.js';
import { labLiveness } from '../lab-liveness.js';
import { listStateLabs, readState } from '../../runtime/state.js';

interface TuiArgs extends LabContext {
  name?: string;
  interval: number;
  timeout?: number;
  nodes?: string;
  events: number;
}

export interface TuiPlan {
  lab: string;
  targets: NodeTarget[];
  /** Things worth saying before the UI takes the screen (hosts that cannot be watched). */
  notes: string[];
}

/** Which lab and nodes to watch for these arguments (reads the lab state; starts nothing). */
export function planTui(args: { name?: string; nodes?: string }): TuiPlan {
  const extra = args.nodes !== undefined ? parseNodesFlag(args.nodes) : [];
  let lab = args.name;
  if (lab === undefined && extra.length === 0) {
    const labs = listStateLabs();
    if (labs.length === 0) {
      throw new ConfigError('no lab is up: start one with `quicmesh-lab up FILE`, or name nodes with --nodes name=url,...');
    }
    if (labs.length > 1) throw new ConfigError(`several labs are up (${labs.join(', ')}): name the one to watch`);
    lab = labs[0]!;
  }
  if (lab === undefined) return { lab: '', targets: extra, notes: [] };
  const state = readState(lab);
  if (!state) {
    const labs = listStateLabs();
    throw new ConfigError(`no lab named "${lab}" is up${labs.length ? ` (up: ${labs.join(', ')})` : ''}`);
  }
  const { targets, unwatchable } = targetsFromLabState(state);
  const notes = unwatchable.length
    ? [`not watched (no management address): ${unwatchable.join(', ')}`]
    : [];
  const all = [...targets, ...extra];
  if (all.length === 0) {
    throw new ConfigError(`lab "${lab}" has no node with a status URL to watch; pass --nodes name=url,... to name some`);
  }
  return { lab, targets: all, notes };
}

/** The processes of a lab's nodes as its state records them now; null when the state is gone. */
export function labProcesses(lab: string): Map<string, NodeProcessInfo> | null {
  const state = readState(lab);
  if (!state) return null;
  return new Map(state.nodes.filter((n) => n.process).map((n) => [n.name, { ...n.process! }]));
}

export const tuiCommand: CommandModule<LabContext, TuiArgs> = {
  command: 'tui [name]',
  describe: 'watch a running lab live: nodes, tiers, paths, events',
  builder: (yargs: Argv<LabContext>) =>
    yargs
      .positional('name', { type: 'string', describe: 'lab to watch (default: the only lab up)' })
      .option('interval', { type: 'number', default: DEFAULT_INTERVAL_MS, describe: 'ms between polls of each node' })
      .option('timeout', { type: 'number', describe: 'per-request timeout, ms (default: the interval, at most 2000)' })
      .option('nodes', { type: 'string', describe: 'watch these nodes too: name=http://host:port,...' })
      .option('events', { type: 'number', default: 6, describe: 'lines of the events log' }),
  handler: async (argv: ArgumentsCamelCase<TuiArgs>) => {
    const { io } = argv;
    for (const [flag, v] of [['--interval', argv.interval], ['--timeout', argv.timeout], ['--events', argv.events]] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new ConfigError(`${flag} must be a positive integer, got ${v}`);
    }
    const plan = planTui({ name: argv.name, nodes: argv.nodes });
    if (!io.isTTY || !process.stdin.isTTY) {
      throw new ConfigError('tui needs an interactive terminal; for a plain report use `quicmesh-lab status`');
    }
    for (const note of plan.notes) io.stderr(`quicmesh-lab tui: ${note}\n`);
    // Loaded on use: ink and react cost ~1 s to import, which every other lab verb would pay.
    const { runTui } = await import('../../ui/run-tui.js');
    const lab = plan.lab;
    await runTui({
      lab: plan.lab,
      ...(lab ? { processes: () => labProcesses(lab) } : {}),
      targets: plan.targets,
      intervalMs: argv.interval,
      timeoutMs: argv.timeout,
      eventLines: argv.events,
      ...(plan.lab ? { liveness: labLiveness(plan.lab) } : {}),
    });
  },
};

export default tuiCommand;
