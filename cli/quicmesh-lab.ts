/**
 * quicmesh-lab: the lab tool's root. One yargs CommandModule per verb (cli/lab/commands/*.ts), listed
 * in COMMANDS below; add a verb by importing its module and appending it there.
 * Errors: a ConfigError (bad file, flag or option) exits 2, a RegressionError (`test --baseline`: every
 * expectation held but a cell got worse) exits 3, any other QuicmeshError exits 1, all as a message
 * without a stack; anything else is a bug and prints its stack (exit 1).
 * Every handler receives `io` (a LabIO) in its argv, for output tests can capture.
 */
import { type CommandModule } from 'yargs';
import { describeCliError, EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, isEntryPoint, runCli, UsageError } from './shared/run-cli.js';
import { TopologyError } from './topology/errors.js';
import { processIO, type LabIO } from './lab/io.js';
import { graphCommand } from './lab/commands/graph.js';
import { validateCommand } from './lab/commands/validate.js';
import { upCommand } from './lab/commands/up.js';
import { downCommand } from './lab/commands/down.js';
import { statusCommand } from './lab/commands/status.js';
import { execCommand } from './lab/commands/exec.js';
import { logsCommand } from './lab/commands/logs.js';
import { moveCommand } from './lab/commands/move.js';
import { testCommand } from './lab/commands/test.js';
import { tuiCommand } from './lab/commands/tui.js';
import { simCommand } from './lab/commands/sim.js';
import { reportCommand } from './lab/commands/report.js';
import { ciCommand } from './lab/commands/ci.js';
import { EXIT_REGRESSION, RegressionError } from './lab/report/regression.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each verb has its own argument type
export const COMMANDS: readonly CommandModule<any, any>[] = [
  upCommand,
  downCommand,
  statusCommand,
  execCommand,
  logsCommand,
  moveCommand,
  testCommand,
  reportCommand,
  ciCommand,
  tuiCommand,
  simCommand,
  validateCommand,
  graphCommand,
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
