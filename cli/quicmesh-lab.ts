/**
 * quicmesh-lab: the lab tool's root. One yargs CommandModule per verb (cli/lab/commands/*.ts), listed
 * in COMMANDS below as a lazyCommand (its command, description and import); add a verb by appending one.
 * Errors: a ConfigError (bad file, flag or option) exits 2, a RegressionError (`test --baseline`: every
 * expectation held but a cell got worse) exits 3, any other QuicmeshError exits 1, all as a message
 * without a stack; anything else is a bug and prints its stack (exit 1).
 * Every handler receives `io` (a LabIO) in its argv, for output tests can capture.
 */
import {
  describeCliError,
  EXIT_CONFIG,
  EXIT_FAILURE,
  EXIT_OK,
  isEntryPoint,
  runCli,
  UsageError,
} from './shared/run-cli.js';
import { lazyCommand, type LazyCommand } from './shared/lazy-command.js';
import { TopologyError } from './topology/errors.js';
import { processIO, type LabIO } from './lab/io.js';
import { EXIT_REGRESSION, RegressionError } from './lab/report/regression-error.js';

// Each verb's module is imported only when it runs (cli/shared/lazy-command.ts): `--help` and
// `validate` do not load the lab runtime, the simulator or the TUI.
export const COMMANDS: readonly LazyCommand[] = [
  lazyCommand({
    command: 'up <file>',
    describe: 'build a lab from a topology file and start its nodes',
    load: async () => (await import('./lab/commands/up.js')).upCommand,
  }),
  lazyCommand({
    command: 'down <lab>',
    describe: 'remove a lab (by name or by its topology file)',
    load: async () => (await import('./lab/commands/down.js')).downCommand,
  }),
  lazyCommand({
    command: 'status [lab]',
    describe: 'show the nodes of a lab and their live state',
    load: async () => (await import('./lab/commands/status.js')).statusCommand,
  }),
  lazyCommand({
    command: 'exec <node> [cmd..]',
    describe: 'run a command inside a node or router namespace (exec NODE -- cmd args)',
    load: async () => (await import('./lab/commands/exec.js')).execCommand,
  }),
  lazyCommand({
    command: 'logs <node>',
    describe: "print a node's log",
    load: async () => (await import('./lab/commands/logs.js')).logsCommand,
  }),
  lazyCommand({
    command: 'move <node> <network>',
    describe:
      'attach a running node to another network, or renumber it on its own (its process keeps running)',
    load: async () => (await import('./lab/commands/move.js')).moveCommand,
  }),
  // faults on a running lab (issue 13): node processes, links, partitions, NAT reboots
  lazyCommand({
    command: 'stop <node>',
    describe: "stop a node's process (its machine, links and key stay)",
    load: async () => (await import('./lab/commands/node-process.js')).stopCommand,
  }),
  lazyCommand({
    command: 'start <node>',
    describe: 'start a stopped node again, with the same key (same NodeId)',
    load: async () => (await import('./lab/commands/node-process.js')).startCommand,
  }),
  lazyCommand({
    command: 'restart <node>',
    describe: "stop a node's process and start it again, with the same key",
    load: async () => (await import('./lab/commands/node-process.js')).restartCommand,
  }),
  lazyCommand({
    command: 'link <action> <network>',
    describe: "change a network's links on a running lab: link set (shaping), link down, link up",
    load: async () => (await import('./lab/commands/link.js')).linkCommand,
  }),
  lazyCommand({
    command: 'partition <nodes..>',
    describe: 'drop all traffic between nodes (or groups) and others (--from), both ways, until heal',
    load: async () => (await import('./lab/commands/partition.js')).partitionCommand,
  }),
  lazyCommand({
    command: 'heal',
    describe: 'remove every partition of a lab',
    load: async () => (await import('./lab/commands/partition.js')).healCommand,
  }),
  lazyCommand({
    command: 'nat <action> <router>',
    describe: "act on a router's NAT: nat reset ROUTER forgets every mapping, pinhole and permission (a reboot)",
    load: async () => (await import('./lab/commands/nat.js')).natCommand,
  }),
  lazyCommand({
    command: 'test <file>',
    describe: 'build a lab, check every expectation of the topology, tear it down',
    load: async () => (await import('./lab/commands/test.js')).testCommand,
  }),
  lazyCommand({
    command: 'tui [name]',
    describe: 'watch a running lab live: nodes, tiers, paths, events',
    load: async () => (await import('./lab/commands/tui.js')).tuiCommand,
  }),
  lazyCommand({
    command: 'sim',
    describe: 'Simulate a DHT network in virtual time and measure lookups against ground truth',
    load: async () => (await import('./lab/commands/sim.js')).simCommand,
  }),
  lazyCommand({
    command: 'image <action>',
    describe: 'build (or list, prune) the docker backend images, with no registry',
    load: async () => (await import('./lab/commands/image.js')).imageCommand,
  }),
  lazyCommand({
    command: 'report <run> [baselines..]',
    describe: 'render JSON reports as a self-contained HTML file and/or a markdown summary',
    load: async () => (await import('./lab/commands/report.js')).reportCommand,
  }),
  lazyCommand({
    command: 'ci <command>',
    describe: 'continuous integration: ci init writes a workflow',
    load: async () => (await import('./lab/commands/ci.js')).ciCommand,
  }),
  lazyCommand({
    command: 'validate <file>',
    describe: 'check a topology file and show what it resolves to',
    load: async () => (await import('./lab/commands/validate.js')).validateCommand,
  }),
  lazyCommand({
    command: 'graph <file>',
    describe: 'draw a topology as a Mermaid flowchart or Graphviz DOT',
    load: async () => (await import('./lab/commands/graph.js')).graphCommand,
  }),
];

export { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, EXIT_REGRESSION, UsageError };

/** The exit code for an error, and what to print for it. A topology error already names file and line. */
export function describeError(error: unknown): { code: number; text: string } {
  if (error instanceof TopologyError) return { code: EXIT_CONFIG, text: `${error.message}\n` };
  if (error instanceof RegressionError) return { code: EXIT_REGRESSION, text: `quicmesh-lab: ${error.message}\n` };
  return describeCliError('quicmesh-lab', error);
}

/** Runs the CLI on `args` (without node and script) and returns the exit code; never calls process.exit. */
export function main(args: readonly string[], io: LabIO = processIO): Promise<number> {
  return runCli(args, {
    program: 'quicmesh-lab',
    usage: '$0 <command> [options]\n\nBuild and test real NAT networks of quicmesh nodes.',
    commands: COMMANDS,
    context: { io },
    out: io,
    describeError,
  });
}

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
